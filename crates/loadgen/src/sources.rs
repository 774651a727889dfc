//! Source addresses for virtual users. On Linux every address in 127.0.0.0/8 belongs to
//! the loopback interface without any setup, so a generator on the server's machine can
//! send each user's requests from its own address, and the server's per-address limits
//! and logs see many clients, as they would in production.

use std::net::{IpAddr, Ipv4Addr};

use url::{Host, Url};

/// The first address handed out: 127.1.0.1, away from the 127.0.0.1 servers listen on.
const FIRST: u32 = u32::from_be_bytes([127, 1, 0, 1]);
/// Addresses available from [`FIRST`] to 127.255.255.254.
const AVAILABLE: u32 = u32::from_be_bytes([127, 255, 255, 254]) - FIRST + 1;

/// The `n`-th source address (0-based) of a spread over 127.0.0.0/8.
pub fn loopback_source(n: usize) -> IpAddr {
    let offset = (n as u64 % AVAILABLE as u64) as u32;
    IpAddr::V4(Ipv4Addr::from(FIRST + offset))
}

/// Whether requests to `url` can be sent from loopback sources: its host is a loopback
/// address or `localhost`.
pub fn reaches_loopback(url: &Url) -> bool {
    match url.host() {
        Some(Host::Ipv4(ip)) => ip.is_loopback(),
        Some(Host::Ipv6(_)) => false,
        Some(Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

/// Which source address each of `users` virtual users sends from: `sources` distinct
/// addresses shared round-robin when the target is on loopback (one per user when
/// `sources` is `None`), or the system's choice (`None`) otherwise or when `sources` is 0.
pub fn assign(url: &Url, users: usize, sources: Option<usize>) -> Vec<Option<IpAddr>> {
    let count = sources.unwrap_or(users);
    if count == 0 || !reaches_loopback(url) {
        return vec![None; users];
    }
    (0..users)
        .map(|user| Some(loopback_source(user % count)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_are_distinct_loopback_addresses() {
        assert_eq!(loopback_source(0).to_string(), "127.1.0.1");
        assert_eq!(loopback_source(255).to_string(), "127.1.1.0");
        assert!(loopback_source(1_000_000).is_loopback());
        let url = Url::parse("http://127.0.0.1:8080/").unwrap();
        let all = assign(&url, 5, None);
        let distinct: std::collections::BTreeSet<_> = all.iter().collect();
        assert_eq!(distinct.len(), 5);
        assert_eq!(assign(&url, 4, Some(2))[2], assign(&url, 4, Some(2))[0]);
        assert_eq!(assign(&url, 3, Some(0)), vec![None; 3]);
        let remote = Url::parse("https://tutti.example.org/").unwrap();
        assert_eq!(assign(&remote, 2, None), vec![None; 2]);
        assert!(reaches_loopback(
            &Url::parse("http://localhost:1/").unwrap()
        ));
    }
}
