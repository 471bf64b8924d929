//! The PROXY protocol version 2 header (haproxy's "The PROXY protocol", §2.2): the binary
//! header a proxy sends first on the origin connection, so the origin learns the client's
//! address and port. Sent with the PROXY command over TCP (`\x21`), address family INET
//! (`\x11`) or INET6 (`\x21`), no TLVs.

use std::net::SocketAddr;

/// The 12-byte signature that starts every v2 header.
const SIGNATURE: [u8; 12] = *b"\r\n\r\n\0\r\nQUIT\n";

/// Version 2, command PROXY.
const VERSION_PROXY: u8 = 0x21;

/// TCP over IPv4, and TCP over IPv6.
const TCP4: u8 = 0x11;
const TCP6: u8 = 0x21;

/// The longest header [`header`] writes (IPv6).
pub const MAX_LEN: usize = 16 + 36;

/// Writes the header for a client connection from `client` to the service address `service`
/// into `buf` and returns its length. `None` if the two addresses' families differ (the
/// listener only accepts its own family, so this does not happen).
pub fn header(client: SocketAddr, service: SocketAddr, buf: &mut [u8; MAX_LEN]) -> Option<usize> {
    buf[..12].copy_from_slice(&SIGNATURE);
    buf[12] = VERSION_PROXY;
    let len = match (client, service) {
        (SocketAddr::V4(c), SocketAddr::V4(s)) => {
            buf[13] = TCP4;
            buf[16..20].copy_from_slice(&c.ip().octets());
            buf[20..24].copy_from_slice(&s.ip().octets());
            buf[24..26].copy_from_slice(&c.port().to_be_bytes());
            buf[26..28].copy_from_slice(&s.port().to_be_bytes());
            12u16
        }
        (SocketAddr::V6(c), SocketAddr::V6(s)) => {
            buf[13] = TCP6;
            buf[16..32].copy_from_slice(&c.ip().octets());
            buf[32..48].copy_from_slice(&s.ip().octets());
            buf[48..50].copy_from_slice(&c.port().to_be_bytes());
            buf[50..52].copy_from_slice(&s.port().to_be_bytes());
            36u16
        }
        _ => return None,
    };
    buf[14..16].copy_from_slice(&len.to_be_bytes());
    Some(16 + usize::from(len))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv4_header_matches_the_specification_example_layout() {
        let mut buf = [0u8; MAX_LEN];
        let client = "192.0.2.1:56324".parse().unwrap();
        let service = "198.51.100.7:443".parse().unwrap();
        let n = header(client, service, &mut buf).unwrap();
        let expected: [u8; 28] = [
            0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54,
            0x0a, // signature
            0x21, 0x11, 0x00, 0x0c, // v2 PROXY, TCP4, 12 bytes of addresses
            192, 0, 2, 1, 198, 51, 100, 7, // source, destination
            0xdc, 0x04, 0x01, 0xbb, // 56324, 443
        ];
        assert_eq!(&buf[..n], &expected);
    }

    #[test]
    fn ipv6_header_is_52_bytes_and_mixed_families_are_refused() {
        let mut buf = [0u8; MAX_LEN];
        let client = "[2001:db8::1]:1000".parse().unwrap();
        let service = "[2001:db8::2]:80".parse().unwrap();
        assert_eq!(header(client, service, &mut buf), Some(52));
        assert_eq!(&buf[13..16], &[0x21, 0, 36]);
        assert_eq!(header(client, "10.0.0.1:80".parse().unwrap(), &mut buf), None);
    }
}
