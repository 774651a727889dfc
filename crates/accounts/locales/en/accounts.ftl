sign-in-with = Sign in with { $provider }
or-password = Or sign in with your email and password:
email = Email
password = Password
forgot-password = Forgot your password?
login-failed = The email or password is wrong.
link-expired = This link was already used or has expired. Ask for a new one.
password-title-setup = Create the first administrator
password-title-invite = Accept your invitation
password-title-reset = Choose a new password
password-lead-setup = This server has no account yet. The account you create here will be its administrator.
password-lead-invite = Choose your name and password to finish creating your account.
password-lead-reset = Choose a new password. Other devices signed in to this account will be signed out.
name = Name
new-password = New password
password-hint = At least 10 characters; a few words in a row make a good password.
password-submit-setup = Create administrator
password-submit-invite = Create my account
password-submit-reset = Set password
reset-sent = If { $email } has an account, a link to reset its password is on its way. Without email on this server, an administrator passes it on.
forgot-lead = Enter the email of your account and we will send you a link to choose a new password.
send-reset-link = Send reset link
profile-title = Your profile
roles = Roles
role = Role
no-roles = No roles yet. An administrator can grant you one.
change-name = Change your name
save = Save
tokens-title = API tokens
tokens-lead = Tokens let scripts use the API as you. Send one as { $sample }. Revoke any you no longer use.
token-already-created = This form was sent before: the token was created then, and its secret was shown only that once. If you did not copy it, revoke the token and create a new one.
token-see-list = See your tokens
token-created = Your new token "{ $name }". Copy it now: it will not be shown again.
copy = Copy
copied = Copied
token-name = Token name
token-scope = Scope
scope-api = Act as me
scope-delegate = Delegate: act on behalf of other users (trusted systems only)
scope-label-api = Act as me
scope-label-delegate = Delegate
scope-subsonic = Music apps (Subsonic key, opens /rest/ only)
scope-label-subsonic = Music apps
create-token = Create token
last-used = Last used
token-expires = Expires
token-never-expires = Never
token-expires-in-days = Expires after (days)
token-expires-hint = Leave it empty for a token that does not expire; delegate tokens then expire after 30 days.
revoked = Revoked
revoke = Revoke
revoke-confirm = Revoke this token? Scripts using it will stop working.
admin-tab-users = People and roles
admin-tab-outbox = Outgoing mail
done-granted = The role was granted.
done-revoked = The role was revoked.
done-invited = The invitation was made.
pass-on-link = This server does not send email. Pass this link on to the person you invited:
people-caption = Everyone with an account or a role waiting for them
not-signed-up = Not signed up yet
revoke-role-confirm = Revoke this role?
grant-role = Grant a role
grant-role-lead = You can grant a role to an email before its owner signs up; it applies from their first sign-in.
grant = Grant
invite-title = Invite someone
invite-lead-mail = They receive an email with a link to choose their password.
invite-lead-nomail = This server does not send email: you will get a link to pass on.
no-role = No role
invite = Invite
invite-already-made = This form was sent before: the invitation was made then, and its link is not shown again here. Outgoing mail lists the message, with its link while it waits.
invite-see-outbox = Open outgoing mail
outbox-lead-mail = Every message the server sent or is about to send.
outbox-lead-nomail = This server has no SMTP server configured, so messages are held here. Pass the links on, then mark them done: a link is shown only while its message waits.
outbox-caption = Outgoing messages, newest first
to = To
subject = Subject
link = Link
mail-queued = Queued
mail-sent = Sent
mail-held = Held for an administrator
mail-passed-on = Passed on
mail-failed = Failed
mail-lapsed = Link used or expired
mark-passed-on = Mark passed on
no-mail = No messages.

# Open sign-up with an email and a password.
sign-up = Sign up
no-account = No account yet?
signup-title = Create an account
signup-lead = Sign up with your email and a password. We will send you a link to confirm the address; your account is made when you open it.
signup-name = Name (optional)
signup-name-hint = How others see you. Without one, your email is shown.
signup-submit = Sign up
signup-have-account = Already have an account?
signup-closed = Sign-up on this server is by invitation only. Ask an administrator to invite you.
signup-before-setup = Sign-up opens once this server has its first administrator.
signup-sent-title = Check your mail
signup-sent = We sent a message to the address you gave. Open its link within 24 hours to finish creating your account. Without email on this server, an administrator passes it on.
signup-resend-title = No message?
signup-resend-lead = Look in your spam folder, or enter your email to get a new link. The earlier link then stops working.
signup-resend = Send the link again
signup-verify-title = Confirm your email
signup-verify-lead = Finish creating the account of { $email }: you will be signed in.
signup-verify-submit = Finish signing up
login-unverified = The email { $email } is not verified yet. Open the link we sent to it to finish creating your account, or get a new link.

# Mail. The body's last line ends the message.
mail-invite-subject = You are invited to Tutti
mail-invite-body =
    { $inviter } invited you to Tutti.

    Open this link within 7 days to choose your password:
    { $link }
mail-reset-subject = Reset your Tutti password
mail-reset-body =
    Someone asked to reset the Tutti password of { $email }.

    Open this link within an hour to choose a new password:
    { $link }

    If it was not you, ignore this message.
mail-signup-subject = New account on Tutti
mail-signup-body =
    { $name } <{ $email }> created an account by signing in through { $issuer }.

    Grant them roles at { $link }
mail-signup-verify-subject = Confirm your email for Tutti
mail-signup-verify-body =
    Someone signed up for Tutti with { $email }.

    Open this link within 24 hours to confirm it was you and finish creating your account:
    { $link }

    If it was not you, ignore this message: no account is made.
mail-signup-exists-subject = Your Tutti account
mail-signup-exists-body =
    Someone tried to sign up for Tutti with { $email }, which already has an account, so nothing was changed.

    Sign in with your password as usual. If you forgot it, open this link within an hour to choose a new one:
    { $link }

    If it was not you, ignore this message.

# The audit log: what each action is called, and its detail worded from its values.
audit-command-line = Command line
audit-action-sign-in-failed = Sign-in failed
audit-detail-sign-in-failed = with { $method }, from { $address }
audit-action-signed-in = Signed in
audit-detail-signed-in = with { $method }
audit-method-password = a password
audit-method-openid-connect = the identity provider
audit-method-setup = the setup link
audit-method-invite = an invitation link
audit-method-reset = a password reset link
audit-method-signup = a sign-up confirmation link
audit-action-user-created = Account created
audit-detail-user-created = { $email }
audit-detail-user-created-openid-connect = { $email }, signed up through { $issuer }
audit-action-setup-link-made = Setup link made
audit-detail-setup-link-made = The earlier one was revoked.
audit-action-setup-link-used = Setup link used
audit-action-invite-link-used = Invitation accepted
audit-action-reset-link-used = Password reset
audit-action-signup-requested = Sign-up requested
audit-detail-signup-requested = { $email }, from { $address }
audit-detail-signup-requested-existing = { $email }, from { $address }: the account exists, so a password reset link was mailed instead
audit-detail-signup-requested-resent = { $email }, from { $address }: the link was sent again
audit-action-signup-verified = Sign-up confirmed
audit-detail-signup-verified = { $email }
audit-action-invited = Invited
audit-detail-invited = { $email }
audit-action-role-granted = Role granted
audit-detail-role-granted = { $role } to { $email }
audit-action-role-revoked = Role revoked
audit-detail-role-revoked = { $role } from { $email }
audit-action-token-created = Token created
audit-detail-token-created = { $name } for { $email }, scope: { $scope }
audit-detail-token-created-expiring = { $name } for { $email }, scope: { $scope }, expires in { $days } days
audit-action-token-revoked = Token revoked
audit-detail-token-revoked = Token { $token }
audit-action-delegated-request = Request on someone's behalf
audit-detail-delegated-request = { $request }

# Problems as pages in other languages word them; English pages show the server's own
# words, which often name the value at fault.
problem-link-expired = This link was already used or has expired. Ask for a new one.
problem-signup-closed = Sign-up on this server is by invitation only. Ask an administrator to invite you.
problem-last-admin = This is the last administrator. Make someone else an administrator first.
problem-account-exists = An account with this email already exists.
problem-already-set-up = This server already has an administrator. Sign in instead.
problem-invalid-field-email = Write an email address such as name@example.org.
problem-invalid-field-password = The password must have at least 10 characters and at most 512; a few words in a row make a good one.
problem-invalid-field-name = Write a name on one line: not empty, not too long, and without invisible characters.
problem-invalid-field-expires_in_days = Write a number of days from 1 to 3650, or leave it empty.
problem-invalid-field-scope = Choose one of the scopes listed.
problem-invalid-field-role = Choose one of the roles listed.
problem-invalid-field-roles = Choose roles from the ones listed.
problem-invalid-field-lang = Choose one of the languages listed.
problem-invalid-field-form_key = This form is out of date or incomplete. Check what it says and send it again.
problem-forbidden-scope = Only administrators may create delegate tokens.
problem-invalid-token = This API token is unknown, was revoked or has expired. Create a new one on your profile page.
problem-sign-in-elsewhere = This sign-in was not started in this browser, or took longer than 10 minutes. Start it again from the sign-in page.
problem-sign-in-expired = This sign-in was already used or took too long. Start it again from the sign-in page.
problem-sign-in-refused = The sign-in provider refused the sign-in.
problem-wrong-issuer = This answer does not come from the configured sign-in provider. Start the sign-in again.
problem-identity-provider-unreachable = Could not reach the sign-in provider. Try again in a minute, or sign in with a password.
problem-identity-provider-refused = The sign-in provider did not confirm who you are. Try again.
delete-account-title = Delete my account
delete-account-lead = Your account goes, and with it everything the studios keep about you: your recordings and their audio, your answers and settings. This cannot be undone.
delete-account-confirm = I want my account and everything in it deleted
delete-account-sure = Delete your account for good?
delete-account = Delete my account
audit-action-account-deleted = Account deleted
audit-detail-account-deleted = deleted the account of { $email }
