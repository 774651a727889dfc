//! Users, roles, sessions, sign-in and API tokens.
