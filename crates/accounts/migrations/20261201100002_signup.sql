-- Open sign-up with an email and a password: until its email is verified, a sign-up is a
-- one-time link (purpose 'signup') that carries what the form said: the name (NULL for
-- none), the password's hash and the local path to go on to. The hash is cleared when the
-- link is used; the periodic sweep deletes used and expired links with the rest.
ALTER TABLE one_time_links ADD COLUMN signup_name TEXT;
ALTER TABLE one_time_links ADD COLUMN signup_password_hash TEXT;
ALTER TABLE one_time_links ADD COLUMN signup_next TEXT;

-- The waiting sign-up of an email, looked up at sign-in and when its link is sent again.
CREATE INDEX one_time_links_email ON one_time_links (email, purpose);
