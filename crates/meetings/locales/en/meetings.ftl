meetings = Meetings
meetings-about = Small video meetings for teams, scheduled or on the spot, in everyone's calendar.
meetings-lead = Meet on the spot or on a schedule, with your teams or anyone you give the code to. Meetings show in your own time zone and in any calendar app.
meetings-sign-in = Sign in to start or schedule meetings and to see your teams' calendars. Someone who sent you a meeting's link can let you in as a guest.
meetings-schedule = Schedule a meeting
meetings-schedule-it = Schedule it
meetings-schedule-for-team = Schedule a meeting for this team
meetings-calendar = Calendar
meetings-teams = Teams
meetings-instant = Start a meeting now
meetings-instant-name = Name (optional)
meetings-instant-title = Instant meeting
meetings-team = Team
meetings-no-team = No team (just me)
meetings-all-teams = All teams
meetings-team-hint = Everyone in the team is invited by mail; only members may join a team meeting.
meetings-guests-allowed = Guests without an account may join
meetings-upcoming = Coming up
meetings-past = Past meetings
meetings-when = Which
meetings-show = Show
meetings-weekly = Weekly
meetings-join = Join
meetings-none-upcoming = No meetings coming up.
meetings-none-past = No past meetings.
meetings-none-month = No meetings this month.
meetings-times-in = Times are shown in { $zone }.
meetings-feed = Your calendar feed
meetings-feed-lead = Subscribe to this secret address in any calendar app to see your meetings and your teams' meetings there. Anyone with the address can read it.
meetings-feed-new = Make a new address
meetings-feed-new-confirm = The old address stops working. Make a new one?
meetings-my-zone = Your time zone
meetings-time-zone = Time zone
meetings-save = Save
meetings-my-zone-set = Invitations and reminders show times in { $zone }.
meetings-my-zone-unset = Invitations and reminders show times in each meeting's own time zone until you choose yours.
meetings-edit = Change the meeting
meetings-title = Title
meetings-date = Day
meetings-start = Starts
meetings-end = Ends
meetings-repeat-weekly = Repeat every week
meetings-repeat-hint = Tick the days it happens on, the first meeting's day included. Leave all empty for a meeting that happens once.
meetings-repeat-until = Last day (optional)
meetings-repeat-count = Or this many times
meetings-day-mo = Monday
meetings-day-tu = Tuesday
meetings-day-we = Wednesday
meetings-day-th = Thursday
meetings-day-fr = Friday
meetings-day-sa = Saturday
meetings-day-su = Sunday
meetings-cancelled = This meeting was cancelled.
meetings-next = Next
meetings-was = Took place
meetings-own-zone = In the meeting's time zone
meetings-repeats = Repeats
meetings-weekly-on = Weekly on
meetings-until = until { $date }
meetings-times-n = { $n } times
meetings-host = Host
meetings-code = Code
meetings-join-link = Join link
meetings-guests = Guests
meetings-guests-yes = Allowed, with a name
meetings-guests-no = Not allowed
meetings-ran = Ran
meetings-ics = Add to a calendar (iCalendar file)
meetings-coming = The next times
meetings-cancel = Cancel the meeting
meetings-cancel-confirm = Cancel this meeting for everyone? Calendar apps will show it as cancelled.
meetings-prev-month = Previous month
meetings-next-month = Next month
meetings-no-teams = You are not in a team yet.
meetings-new-team = New team
meetings-team-name = Name
meetings-create-team = Create the team
meetings-need-member = Ask an administrator for the member role to create teams. To join a team, open an invitation link from it.
meetings-role-owner = Owner
meetings-role-admin = Admin
meetings-role-member = Member
meetings-members = Members
meetings-member-name = Name
meetings-member-role = Role
meetings-member-actions = Actions
meetings-make-admin = Make admin
meetings-make-member = Make a plain member
meetings-hand-over = Hand ownership over
meetings-hand-over-confirm = Make this person the team's owner? You stay as an admin.
meetings-remove = Remove
meetings-remove-confirm = Remove this person from the team?
meetings-invites = Invitation links
meetings-invites-lead = Whoever signs in and opens a link joins the team as a member, until the link expires or you revoke it.
meetings-invite-expires = Expires
meetings-invite-revoked = Revoked
meetings-invite-expired = Expired
meetings-invite-accepted = Joined through it: { $n }
meetings-invite-revoke = Revoke
meetings-invite-days = Link works for
meetings-days-n = { $n ->
    [one] { $n } day
   *[other] { $n } days
}
meetings-invite-make = Make a link
meetings-rename = Rename the team
meetings-team-feed = The team's calendar feed
meetings-team-feed-lead = Subscribe to this secret address in a calendar app to see the team's meetings. Anyone with the address can read it.
meetings-leave = Leave the team
meetings-leave-last = You are the last member. Leaving removes the team with all its meetings.
meetings-leave-confirm = Yes, remove the team and its meetings
meetings-leave-remove = Leave and remove the team
meetings-leave-owner = As the owner, hand ownership to someone before you leave.
meetings-invite-title = Invitation to a team
meetings-invite-heading = Join { $team }
meetings-invite-lead = You were invited to this team. The link works until
meetings-invite-accept = Join the team
meetings-invite-already = You are already a member of this team.
meetings-invite-go = Go to the team
meetings-hosted-by = Hosted by { $host }
meetings-who-team = This meeting is for the team's members.
meetings-who-own = Anyone signed in who has this link may join.
meetings-who-guests = Guests may join too, with a name.
meetings-join-as-host = You are this meeting's host.
meetings-join-as-member = You may join this meeting.
meetings-join-as-guest = You may join this meeting as a guest.
meetings-details = Meeting details

# Mail. The body's last line ends the message.
meetings-mail-invite-subject = Invitation: { $title }
meetings-mail-invite-body =
    { $by } scheduled a meeting of { $team }: { $title }

    When: { $when }

    Join: { $link }
    Add it to your calendar: { $ics }
meetings-mail-invite-weekly-body =
    { $by } scheduled a weekly meeting of { $team }: { $title }

    First: { $when }
    Every week on: { $repeats }

    Join: { $link }
    Add it to your calendar: { $ics }
meetings-mail-reminder-subject = Starting soon: { $title }
meetings-mail-reminder-body =
    { $title } starts soon.

    When: { $when }

    Join: { $link }
