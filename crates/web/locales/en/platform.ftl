app-name = Tutti
skip-to-content = Skip to content
nav-main = Main
nav-profile = Profile
nav-admin = Admin
sign-in = Sign in
sign-out = Sign out
language = Language
language-apply = Apply
footer = Tutti: voices and music together, in the browser.
back-home = Back to the home page
home-title = Welcome to Tutti
home-lead = Read aloud, sing together, meet, and share your music, all in your browser.
setup-pending = No account exists yet. The server log of its first start shows a one-time link that makes the first person an administrator; { $command } makes a fresh one.
home-no-studios = No studio is enabled on this server yet. Administrators can still manage people, roles and jobs from the admin area.

# Problems as pages in other languages word them: `problem-<type>-<field>`, else
# `problem-<type>`. English pages show the server's own words, which often name the
# value at fault.
problem-not-found = There is nothing at this address.
problem-unauthenticated = Sign in first.
problem-forbidden = Your account may not do this.
problem-invalid-field = Something in the form needs fixing.
problem-malformed-json = The request was not understood.
problem-too-many-requests = Too many attempts. Wait a little, then try again.
problem-busy = The server is busy. Try again in a moment.
problem-internal = Something went wrong on the server. It has been logged; try again later.
problem-method-not-allowed = This address does not accept that kind of request.
problem-body-too-large = What was sent is larger than this address accepts.
problem-unsupported-media-type = What was sent is not of a kind this address accepts.
problem-timeout = The request took too long.
problem-http-error = The request could not be handled.
problem-already-exists = That already exists.
