# The speaker's pages of the recital studio: joining a campaign (agreement, questions,
# microphone check), reading a text aloud, recording clips, checking other people's clips
# and listening to one's own recording. Messages the scripts show are rendered into the
# page; their {placeholders} in braces are filled in by the script.

## Shared

speak-needs-js = Recording needs JavaScript, which is off in this browser. Turn it on to record.
speak-loading = Loading…
speak-error-generic = Something went wrong. Try again in a moment.
speak-error-network = The server cannot be reached. Check your connection and try again.
speak-error-recorder = The recording stopped with an error: { $detail }
speak-level = Microphone level
speak-state-starting = Starting the microphone…
speak-state-recording = Recording: { $time }
speak-announce-started = Recording.
speak-still-saving = Still saving… keep this page open.
speak-mic-denied = The browser did not allow the microphone. Allow it for this site (in the address bar or the site settings), then try again.
speak-mic-missing = No microphone was found. Connect one and try again.
speak-mic-failed = The microphone could not be started: { $detail }
speak-mic-unsupported = This browser cannot record here. Try a recent Firefox, Chrome, Edge or Safari.
speak-warn-silent = We have heard nothing for 5 seconds. Is the microphone muted?
speak-warn-quiet = You sound very quiet. Move closer to the microphone.
speak-warn-clipping = Too loud: the sound is distorted. Move back a little.
speak-upload-saved = All saved.
speak-upload-pending = Saving… still to upload: { $n } ({ $size }).
speak-upload-finishing = Saving the last details…
speak-upload-offline = Offline. The recording is kept on this device and uploads when you are back online (waiting: { $n }).
speak-upload-retrying = The server is busy; trying again in { $seconds } s. Kept on this device meanwhile: { $n }.
speak-upload-failed = Saving stopped: { $detail }
speak-clip-label = Read this as: { $label }

## Joining a campaign

speak-join-title = Join { $campaign }
speak-mode-long-form = You will read whole texts aloud, sentence by sentence, in one recording.
speak-mode-clip = You will record one short sentence at a time.
speak-labels-lead = Some sentences ask you to read them in a certain way:
speak-agreement-title = The agreement
speak-agreement-version = Version { $version }
speak-agreement-changed = The agreement has changed since you accepted version { $old }. Please read version { $new } and accept it to go on recording.
speak-agreement-accepted = You have already accepted this version. You can change your answers below, or go on.
speak-agreement-region = Text of the agreement
speak-agree = I have read the agreement and I agree to it
speak-profile-title = About you (optional)
speak-profile-lead = These answers make the recordings more useful. Every question is optional.
speak-year-of-birth = Year of birth
speak-gender = Gender
speak-gender-female = Female
speak-gender-male = Male
speak-gender-non-binary = Non-binary
speak-gender-other = Other
speak-prefer-not = Prefer not to say
speak-accent = Accent or dialect
speak-accent-hint = In your own words, for example “Jerusalem” or “Scottish English”. Leave it empty if you prefer.
speak-join-submit = Agree and continue
speak-join-update = Save my answers
speak-go-read = Choose a text to read
speak-go-record = Start recording
speak-go-validate = Check other people’s recordings
speak-form-error = Something in the form needs fixing: see the field marked below.

## Microphone check

speak-miccheck-title = Check your microphone
speak-miccheck-lead = Record three seconds of yourself speaking as you will when reading, then listen to it. Nothing is sent to the server.
speak-miccheck-start = Record 3 seconds
speak-miccheck-again = Check again
speak-miccheck-play = Play it back
speak-miccheck-recording = Recording… speak now ({ $seconds })
speak-miccheck-done = Done. Play it back to hear yourself.
speak-miccheck-fine = Sounds fine. You are ready to record.
speak-miccheck-too-low = Too low: we can hardly hear you. Move closer to the microphone or turn its volume up, then check again.
speak-miccheck-clipping = Clipping: the sound is too loud and distorted. Move back a little or turn the microphone’s volume down, then check again.
speak-miccheck-reminder-skipped = You have not checked your microphone yet.
speak-miccheck-reminder-too-low = Your microphone check found the sound too low.
speak-miccheck-reminder-clipping = Your microphone check found the sound clipping.
speak-miccheck-go = Check the microphone

## Reading a text aloud

speak-read-lead = Press Start, read the highlighted sentence aloud, and press Next as soon as you finish it.
speak-keys-hint = Keys: { $enter } starts and stops, { $next } goes to the next sentence, { $prev } to the previous one. On a touch screen, tap the text for the next sentence.
speak-text-label = Text to read
speak-controls = Recording controls
speak-start = Start
speak-next = Next sentence
speak-previous = Previous sentence
speak-stop = Stop
speak-resume = Resume
speak-state-ready = Ready. Choose the sentence to start from, then press Start.
speak-state-paused = Paused after { $time }. Press Resume to go on.
speak-state-stopped = Stopped after { $time }.
speak-paused-hidden = Paused after { $time }, because the page was hidden. Press Resume to go on.
speak-paused-interrupted = Paused after { $time }, because the microphone was interrupted (a call, another app, or it was unplugged). Press Resume to go on.
speak-continue-notice = You have an unfinished recording of this text. Start goes on with it from the highlighted sentence.
speak-finish-now = Finish that recording
speak-end-of-text = You reached the end of the text.
speak-stop-title = How did it go?
speak-stop-lead = Save the recording, or leave out the last sentence if you stumbled on it.
speak-save = Save
speak-save-drop-last = Save without the last sentence
speak-delete = Delete the recording
speak-keep-reading = Keep reading
speak-saved = Saved. Thank you!
speak-saved-link = Listen to your recording
speak-deleted = The recording was deleted.

## Recording clips

speak-clip-title = Record for { $campaign }
speak-clip-lead = Read the sentence aloud once, clearly, as it is written.
speak-clip-sentence = Sentence to read
speak-record = Record
speak-listen = Listen
speak-rerecord = Record again
speak-submit = Submit
speak-skip = Skip this sentence
speak-report = Report this sentence
speak-clip-state-ready = Press Record, read the sentence, then press Stop.
speak-clip-state-recorded = Your take is { $time } long. Listen to it, then submit it or record it again.
speak-clip-checking = Checking your recording…
speak-clip-slow = Checking takes longer than usual. Your recording is saved; go on with the next sentence.
speak-clip-discarded = This recording was deleted.
speak-clip-failed = The recording could not be checked: { $detail }
speak-verdict-ok = Sounds good. Thank you!
speak-verdict-bad = This take has a problem:
speak-problem-too-short = Too short: read the whole sentence and record again.
speak-problem-too-long = Too long: press Stop right after the sentence and record again.
speak-problem-silent = We heard nothing: check the microphone and record again.
speak-problem-clipped = Too loud, the sound is distorted: move back a little and record again.
speak-problem-too-quiet = Too quiet: move closer and record again.
speak-problem-leading-silence = A long silence before you speak: start reading soon after pressing Record.
speak-problem-trailing-silence = A long silence at the end: press Stop soon after you finish.
speak-problem-low-speech = We heard little speech: read the sentence clearly and record again.
speak-redo = Record it again
speak-next-prompt = Next sentence
speak-clip-empty-title = Nothing left to record
speak-clip-empty = You have recorded every sentence waiting in this campaign. Thank you!
speak-report-title = Report this sentence
speak-report-reason = What is wrong with it?
speak-reason-offensive = It is offensive
speak-reason-misspelled = It has a spelling or grammar mistake
speak-reason-wrong-language = It is not in the right language
speak-reason-hard-to-say = It is too hard to say
speak-reason-other = Something else
speak-report-note = More details (optional)
speak-report-send = Send the report
speak-report-choose = Choose what is wrong with the sentence.
speak-report-sent = Thank you, the sentence was reported. Here is another one.
speak-cancel = Cancel

## Checking recordings

speak-validate-title = Check recordings for { $campaign }
speak-validate-lead = Listen to the recording. Does it say exactly the sentence, clearly (and in the way asked, if a way is asked)?
speak-validate-player = Recording to check
speak-validate-question = Does the recording match the sentence?
speak-yes = Yes
speak-no = No
speak-validate-keys = You can also press Y for yes or N for no.
speak-validate-listen-first = Listen to the whole recording first.
speak-validate-audio-error = This recording does not play. You can answer No.
speak-validate-thanks = Thank you! Answers so far: { $n }
speak-validate-empty-title = Nothing to check right now
speak-validate-empty = Every recording has been checked. Come back later!

## Listening to a recording

speak-replay-title = Your recording of { $document }
speak-replay-campaign = Campaign: { $campaign }
speak-replay-player = Recording
speak-replay-subtitles = Transcript
speak-replay-transcript = Transcript
speak-replay-transcript-hint = Choose a sentence to play from there.
speak-replay-duration = Length: { $time }
speak-replay-pending = This recording is being processed. The page updates by itself when it is ready.
speak-replay-discarded = This recording was deleted.
speak-replay-error = Processing failed: { $detail }
speak-replay-no-cues = This recording has no transcript.
speak-state-name-recording = Recording
speak-state-name-ended = Being processed
speak-state-name-processed = Ready
speak-state-name-published = Published
speak-state-name-discarded = Deleted
speak-verdict-title = Quality check
speak-replay-loudness = Loudness: { $lufs }
speak-replay-speech = Speech: { $percent } % of the recording
speak-replay-download = Download the audio
speak-clip-report = Something wrong with this clip?
speak-clip-report-wrong-sentence = It is not the sentence shown
speak-clip-report-noise = Noise or other voices
speak-clip-report-offensive = Offensive
speak-clip-report-personal-information = It reveals personal information
speak-clip-report-other = Something else
speak-clip-report-send = Report and skip
