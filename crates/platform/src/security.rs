//! What the server's outer layers tell the routes about a request, and what routes tell
//! those layers about their responses: the client's address ([`ClientIp`], worked out once
//! from the connection and, behind trusted proxies, `X-Forwarded-For`), and a route's wish
//! to be framed by other pages ([`AllowFraming`]), which the security headers otherwise
//! forbid.

use std::convert::Infallible;
use std::net::IpAddr;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;

/// The address a request came from, as the server worked it out (the connection's peer,
/// or behind trusted proxies the right-most untrusted `X-Forwarded-For` hop). `None` when
/// the server could not tell (a request made without a connection, in tests).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientIp(pub Option<IpAddr>);

impl ClientIp {
    /// A key for per-address limits: the address, with IPv6 cut to its /64 network since
    /// one host is usually given a whole /64 and can pick any address in it.
    pub fn limit_key(&self) -> Option<String> {
        match self.0? {
            IpAddr::V4(v4) => Some(v4.to_string()),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => Some(v4.to_string()),
                None => {
                    let s = v6.segments();
                    Some(format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3]))
                }
            },
        }
    }

    /// Whether the request came from this machine.
    pub fn is_loopback(&self) -> bool {
        self.0.is_some_and(|ip| ip.to_canonical().is_loopback())
    }
}

impl std::fmt::Display for ClientIp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            Some(ip) => write!(f, "{ip}"),
            None => f.write_str("-"),
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for ClientIp {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Infallible> {
        Ok(parts
            .extensions
            .get::<ClientIp>()
            .copied()
            .unwrap_or(ClientIp(None)))
    }
}

/// Put in a response's extensions by a route that may be shown inside other pages: the
/// `frame-ancestors` sources its Content-Security-Policy names instead of `'none'` (for
/// example `"'self'"`), and no `X-Frame-Options` is sent with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AllowFraming(pub &'static str);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_addresses_are_limited_by_their_network() {
        let a = ClientIp(Some("2001:db8:1:2:aaaa::1".parse().unwrap()));
        let b = ClientIp(Some("2001:db8:1:2:bbbb::9".parse().unwrap()));
        assert_eq!(a.limit_key(), b.limit_key());
        assert_eq!(a.limit_key().unwrap(), "2001:db8:1:2::/64");
        let v4 = ClientIp(Some("::ffff:192.0.2.7".parse().unwrap()));
        assert_eq!(v4.limit_key().unwrap(), "192.0.2.7");
        assert!(ClientIp(Some("::1".parse().unwrap())).is_loopback());
        assert!(ClientIp(Some("::ffff:127.0.0.1".parse().unwrap())).is_loopback());
        assert!(!ClientIp(None).is_loopback());
        assert_eq!(ClientIp(None).limit_key(), None);
    }
}
