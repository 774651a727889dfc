# דפי הדובר בסטודיו ההקראה: הצטרפות לקמפיין (הסכם, שאלות, בדיקת מיקרופון), הקראת
# טקסט, הקלטת קטעים, בדיקת הקלטות של אחרים והאזנה להקלטה שלך. הודעות שהסקריפטים
# מציגים מוטמעות בדף; את {המצייני מקום} בסוגריים מסולסלים ממלא הסקריפט.

## משותף

speak-needs-js = ההקלטה דורשת JavaScript, שכבוי בדפדפן הזה. הפעילו אותו כדי להקליט.
speak-loading = טוענים…
speak-error-generic = משהו השתבש. נסו שוב בעוד רגע.
speak-error-network = אין חיבור לשרת. בדקו את החיבור ונסו שוב.
speak-error-recorder = ההקלטה נעצרה בגלל שגיאה: { $detail }
speak-level = עוצמת המיקרופון
speak-state-starting = מפעילים את המיקרופון…
speak-state-recording = מקליטים: { $time }
speak-announce-started = ההקלטה התחילה.
speak-still-saving = עדיין שומרים… השאירו את הדף פתוח.
speak-mic-denied = הדפדפן לא אישר גישה למיקרופון. אשרו אותה לאתר הזה (בשורת הכתובת או בהגדרות האתר) ונסו שוב.
speak-mic-missing = לא נמצא מיקרופון. חברו מיקרופון ונסו שוב.
speak-mic-failed = לא הצלחנו להפעיל את המיקרופון: { $detail }
speak-mic-unsupported = הדפדפן הזה לא יכול להקליט כאן. נסו גרסה עדכנית של Firefox,‏ Chrome,‏ Edge או Safari.
speak-warn-silent = לא שמענו דבר כבר 5 שניות. האם המיקרופון מושתק?
speak-warn-quiet = הקול שלכם חלש מאוד. התקרבו למיקרופון.
speak-warn-clipping = חזק מדי: הצליל מעוות. התרחקו מעט.
speak-upload-saved = הכול נשמר.
speak-upload-pending = שומרים… עוד להעלות: { $n } ({ $size }).
speak-upload-finishing = שומרים את הפרטים האחרונים…
speak-upload-offline = אין חיבור. ההקלטה שמורה במכשיר הזה ותועלה כשהחיבור יחזור (ממתינים: { $n }).
speak-upload-retrying = השרת עמוס; מנסים שוב בעוד { $seconds } שנ׳. שמורים במכשיר הזה בינתיים: { $n }.
speak-upload-failed = השמירה נעצרה: { $detail }
speak-clip-label = אופן ההקראה: { $label }

## הצטרפות לקמפיין

speak-join-title = הצטרפות לקמפיין { $campaign }
speak-mode-long-form = תקריאו טקסטים שלמים, משפט אחר משפט, בהקלטה אחת.
speak-mode-clip = תקליטו משפט קצר אחד בכל פעם.
speak-labels-lead = חלק מהמשפטים מבקשים שתקריאו אותם בדרך מסוימת:
speak-agreement-title = ההסכם
speak-agreement-version = גרסה { $version }
speak-agreement-changed = ההסכם השתנה מאז שאישרתם את גרסה { $old }. קראו את גרסה { $new } ואשרו אותה כדי להמשיך להקליט.
speak-agreement-accepted = כבר אישרתם את הגרסה הזו. אפשר לשנות את התשובות למטה, או להמשיך.
speak-agreement-region = נוסח ההסכם
speak-agree = קראתי את ההסכם ואני מסכים/ה לו
speak-profile-title = קצת עליכם (לא חובה)
speak-profile-lead = התשובות האלה הופכות את ההקלטות לשימושיות יותר. כל השאלות רשות.
speak-year-of-birth = שנת לידה
speak-gender = מגדר
speak-gender-female = אישה
speak-gender-male = גבר
speak-gender-non-binary = א־בינארי
speak-gender-other = אחר
speak-prefer-not = מעדיפים לא לומר
speak-accent = מבטא או ניב
speak-accent-hint = במילים שלכם, למשל "ירושלמי" או "אנגלית סקוטית". אפשר להשאיר ריק.
speak-join-submit = אישור והמשך
speak-join-update = שמירת התשובות
speak-go-read = בחירת טקסט להקראה
speak-go-record = התחלת הקלטה
speak-go-validate = בדיקת הקלטות של אחרים
speak-form-error = יש בטופס משהו לתקן: ראו את השדה המסומן למטה.

## בדיקת מיקרופון

speak-miccheck-title = בדיקת המיקרופון
speak-miccheck-lead = הקליטו שלוש שניות שבהן אתם מדברים כמו שתקריאו, ואז האזינו להן. שום דבר לא נשלח לשרת.
speak-miccheck-start = הקלטת 3 שניות
speak-miccheck-again = בדיקה נוספת
speak-miccheck-play = השמעה
speak-miccheck-recording = מקליטים… דברו עכשיו ({ $seconds })
speak-miccheck-done = זהו. השמיעו את ההקלטה כדי לשמוע את עצמכם.
speak-miccheck-fine = נשמע טוב. אפשר להתחיל להקליט.
speak-miccheck-too-low = חלש מדי: בקושי שומעים אתכם. התקרבו למיקרופון או הגבירו את העוצמה שלו, ובדקו שוב.
speak-miccheck-clipping = צליל חתוך: הקול חזק מדי ומעוות. התרחקו מעט או הנמיכו את עוצמת המיקרופון, ובדקו שוב.
speak-miccheck-reminder-skipped = עדיין לא בדקתם את המיקרופון.
speak-miccheck-reminder-too-low = בבדיקת המיקרופון הצליל היה חלש מדי.
speak-miccheck-reminder-clipping = בבדיקת המיקרופון הצליל היה חתוך.
speak-miccheck-go = לבדיקת המיקרופון

## הקראת טקסט

speak-read-lead = לחצו על "התחלה", הקריאו בקול את המשפט המודגש ולחצו על "המשפט הבא" מיד כשסיימתם אותו.
speak-keys-hint = מקשים: { $enter } מתחיל ועוצר, { $next } עובר למשפט הבא, { $prev } למשפט הקודם. במסך מגע, הקישו על הטקסט כדי לעבור למשפט הבא.
speak-text-label = הטקסט להקראה
speak-controls = פקדי ההקלטה
speak-start = התחלה
speak-next = המשפט הבא
speak-previous = המשפט הקודם
speak-stop = עצירה
speak-resume = המשך
speak-state-ready = מוכנים. בחרו את המשפט שממנו תתחילו ולחצו על "התחלה".
speak-state-paused = ההקלטה הושהתה אחרי { $time }. לחצו על "המשך" כדי להמשיך.
speak-state-stopped = ההקלטה נעצרה אחרי { $time }.
speak-paused-hidden = ההקלטה הושהתה אחרי { $time }, כי הדף הוסתר. לחצו על "המשך" כדי להמשיך.
speak-paused-interrupted = ההקלטה הושהתה אחרי { $time }, כי המיקרופון נקטע (שיחה, אפליקציה אחרת, או שהוא נותק). לחצו על "המשך" כדי להמשיך.
speak-continue-notice = יש לכם הקלטה של הטקסט הזה שלא הסתיימה. לחיצה על "התחלה" תמשיך אותה מהמשפט המודגש.
speak-finish-now = סיום ההקלטה ההיא
speak-end-of-text = הגעתם לסוף הטקסט.
speak-stop-title = איך היה?
speak-stop-lead = שמרו את ההקלטה, או השמיטו את המשפט האחרון אם נתקעתם בו.
speak-save = שמירה
speak-save-drop-last = שמירה בלי המשפט האחרון
speak-delete = מחיקת ההקלטה
speak-keep-reading = להמשיך להקריא
speak-saved = נשמר. תודה!
speak-saved-link = האזנה להקלטה שלכם
speak-deleted = ההקלטה נמחקה.

## הקלטת קטעים

speak-clip-title = הקלטה עבור { $campaign }
speak-clip-lead = הקריאו את המשפט פעם אחת, בבירור, בדיוק כפי שהוא כתוב.
speak-clip-sentence = המשפט להקראה
speak-record = הקלטה
speak-listen = האזנה
speak-rerecord = הקלטה מחדש
speak-submit = שליחה
speak-skip = דילוג על המשפט
speak-report = דיווח על המשפט
speak-clip-state-ready = לחצו על "הקלטה", הקריאו את המשפט ולחצו על "עצירה".
speak-clip-state-recorded = אורך ההקלטה { $time }. האזינו לה, ואז שלחו אותה או הקליטו מחדש.
speak-clip-checking = בודקים את ההקלטה…
speak-clip-slow = הבדיקה נמשכת יותר מהרגיל. ההקלטה שמורה; אפשר להמשיך למשפט הבא.
speak-clip-discarded = ההקלטה הזו נמחקה.
speak-clip-failed = לא הצלחנו לבדוק את ההקלטה: { $detail }
speak-verdict-ok = נשמע טוב. תודה!
speak-verdict-bad = בהקלטה הזו יש בעיה:
speak-problem-too-short = קצר מדי: הקריאו את כל המשפט והקליטו שוב.
speak-problem-too-long = ארוך מדי: לחצו על "עצירה" מיד אחרי המשפט והקליטו שוב.
speak-problem-silent = לא שמענו דבר: בדקו את המיקרופון והקליטו שוב.
speak-problem-clipped = חזק מדי, הצליל מעוות: התרחקו מעט והקליטו שוב.
speak-problem-too-quiet = חלש מדי: התקרבו והקליטו שוב.
speak-problem-leading-silence = שקט ארוך לפני שהתחלתם לדבר: התחילו להקריא זמן קצר אחרי הלחיצה על "הקלטה".
speak-problem-trailing-silence = שקט ארוך בסוף: לחצו על "עצירה" זמן קצר אחרי שסיימתם.
speak-problem-low-speech = שמענו מעט דיבור: הקריאו את המשפט בבירור והקליטו שוב.
speak-redo = להקליט שוב
speak-next-prompt = המשפט הבא
speak-clip-empty-title = לא נשאר מה להקליט
speak-clip-empty = הקלטתם את כל המשפטים שממתינים בקמפיין הזה. תודה!
speak-report-title = דיווח על המשפט
speak-report-reason = מה הבעיה בו?
speak-reason-offensive = הוא פוגעני
speak-reason-misspelled = יש בו שגיאת כתיב או דקדוק
speak-reason-wrong-language = הוא לא בשפה הנכונה
speak-reason-hard-to-say = קשה מדי לומר אותו
speak-reason-other = משהו אחר
speak-report-note = פרטים נוספים (לא חובה)
speak-report-send = שליחת הדיווח
speak-report-choose = בחרו מה הבעיה במשפט.
speak-report-sent = תודה, המשפט דווח. הנה משפט אחר.
speak-cancel = ביטול

## בדיקת הקלטות

speak-validate-title = בדיקת הקלטות עבור { $campaign }
speak-validate-lead = האזינו להקלטה. האם היא אומרת בדיוק את המשפט, בבירור (ובדרך שהתבקשה, אם התבקשה)?
speak-validate-player = ההקלטה לבדיקה
speak-validate-question = האם ההקלטה תואמת את המשפט?
speak-yes = כן
speak-no = לא
speak-validate-keys = אפשר גם ללחוץ על Y עבור כן או על N עבור לא.
speak-validate-listen-first = האזינו קודם להקלטה כולה.
speak-validate-audio-error = ההקלטה הזו לא מתנגנת. אפשר לענות "לא".
speak-validate-thanks = תודה! תשובות עד כה: { $n }
speak-validate-empty-title = אין כרגע מה לבדוק
speak-validate-empty = כל ההקלטות נבדקו. חזרו מאוחר יותר!

## האזנה להקלטה

speak-replay-title = ההקלטה שלכם: { $document }
speak-replay-campaign = קמפיין: { $campaign }
speak-replay-player = הקלטה
speak-replay-subtitles = תמליל
speak-replay-transcript = תמליל
speak-replay-transcript-hint = בחרו משפט כדי לנגן ממנו.
speak-replay-duration = אורך: { $time }
speak-replay-pending = ההקלטה הזו בעיבוד. הדף יתעדכן מעצמו כשהיא תהיה מוכנה.
speak-replay-discarded = ההקלטה הזו נמחקה.
speak-replay-error = העיבוד נכשל: { $detail }
speak-replay-no-cues = להקלטה הזו אין תמליל.
speak-state-name-recording = בהקלטה
speak-state-name-ended = בעיבוד
speak-state-name-processed = מוכנה
speak-state-name-published = פורסמה
speak-state-name-discarded = נמחקה
speak-verdict-title = בדיקת איכות
speak-replay-loudness = עוצמה: { $lufs }
speak-replay-speech = דיבור: { $percent }% מההקלטה
speak-replay-download = הורדת השמע
speak-clip-report = משהו לא בסדר בקטע הזה?
speak-clip-report-wrong-sentence = זה לא המשפט שמוצג
speak-clip-report-noise = רעש או קולות אחרים
speak-clip-report-offensive = פוגעני
speak-clip-report-personal-information = יש בו מידע אישי
speak-clip-report-other = משהו אחר
speak-clip-report-send = דיווח ודילוג
