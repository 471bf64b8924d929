//! Value types of the configuration that check themselves while they are read: durations
//! ("40ms", "2s", "1h"), byte sizes ("256KiB"), integers within bounds, addresses and port
//! ranges. A bad value fails deserialization, so serde-saphyr reports it with the line and
//! column of the value.

use std::fmt;
use std::net::{IpAddr, SocketAddr};

use netreaktor_pipeline::time::Duration;
use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};

/// Duration units, longest first (the order [`format_duration`] tries them in).
const DURATION_UNITS: [(&str, u64); 6] = [
    ("d", 86_400_000_000),
    ("h", 3_600_000_000),
    ("m", 60_000_000),
    ("s", 1_000_000),
    ("ms", 1_000),
    ("us", 1),
];

/// Size units, longest first.
const SIZE_UNITS: [(&str, u64); 7] = [
    ("GiB", 1 << 30),
    ("MiB", 1 << 20),
    ("KiB", 1 << 10),
    ("GB", 1_000_000_000),
    ("MB", 1_000_000),
    ("KB", 1_000),
    ("B", 1),
];

/// Splits "40ms" into (40, "ms").
fn split_number(text: &str) -> Option<(u64, &str)> {
    let digits = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let number = text.get(..digits)?.parse().ok()?;
    Some((number, text.get(digits..)?.trim_start()))
}

/// Parses a duration: an integer and one of the units `us`, `ms`, `s`, `m`, `h`, `d`.
pub(crate) fn parse_duration(text: &str) -> Result<Duration, String> {
    let bad = || {
        format!(
            "invalid duration {text:?}: expected an integer and a unit (us, ms, s, m, h, d), \
             e.g. \"40ms\""
        )
    };
    let (number, unit) = split_number(text.trim()).ok_or_else(bad)?;
    let (_, micros) = DURATION_UNITS.iter().find(|(name, _)| *name == unit).ok_or_else(bad)?;
    let total =
        number.checked_mul(*micros).ok_or_else(|| format!("duration {text:?} is too long"))?;
    Ok(Duration::from_micros(total))
}

/// Formats a duration in the largest unit that represents it exactly ("0ms" for zero).
pub(crate) fn format_duration(d: Duration) -> String {
    let micros = d.total_micros();
    if micros == 0 {
        return "0ms".to_owned();
    }
    let (name, unit) = DURATION_UNITS
        .iter()
        .find(|(_, unit)| micros.is_multiple_of(*unit))
        .copied()
        .unwrap_or(("us", 1));
    format!("{}{name}", micros / unit)
}

/// Parses a size: an integer with an optional unit `B`, `KiB`, `MiB`, `GiB`, `KB`, `MB`, `GB`.
pub(crate) fn parse_size(text: &str) -> Result<u64, String> {
    let bad = || {
        format!(
            "invalid size {text:?}: expected an integer and a unit (B, KiB, MiB, GiB, KB, MB, \
             GB), e.g. \"256KiB\""
        )
    };
    let (number, unit) = split_number(text.trim()).ok_or_else(bad)?;
    if unit.is_empty() {
        return Ok(number);
    }
    let (_, bytes) = SIZE_UNITS.iter().find(|(name, _)| *name == unit).ok_or_else(bad)?;
    number.checked_mul(*bytes).ok_or_else(|| format!("size {text:?} is too large"))
}

/// Formats a size in the largest binary unit that represents it exactly.
pub(crate) fn format_size(bytes: u64) -> String {
    let binary = [("GiB", 1u64 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)];
    match binary.iter().find(|(_, unit)| bytes != 0 && bytes.is_multiple_of(*unit)) {
        Some((name, unit)) => format!("{}{name}", bytes / unit),
        None => format!("{bytes}B"),
    }
}

/// A scalar that is either a YAML integer or a string, as written.
enum Scalar {
    Int(u64),
    Text(String),
}

impl<'de> Deserialize<'de> for Scalar {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ScalarVisitor)
    }
}

struct ScalarVisitor;

impl Visitor<'_> for ScalarVisitor {
    type Value = Scalar;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an integer or a string")
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Scalar, E> {
        Ok(Scalar::Int(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Scalar, E> {
        u64::try_from(v).map(Scalar::Int).map_err(|_| E::custom(format!("{v} is negative")))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Scalar, E> {
        Ok(Scalar::Text(v.to_owned()))
    }
}

/// An integer in `MIN..=MAX`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Int<const MIN: u64, const MAX: u64>(pub(crate) u64);

impl<'de, const MIN: u64, const MAX: u64> Deserialize<'de> for Int<MIN, MAX> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = match Scalar::deserialize(deserializer)? {
            Scalar::Int(v) => v,
            Scalar::Text(text) => {
                return Err(de::Error::custom(format!("expected an integer, found {text:?}")));
            }
        };
        if !(MIN..=MAX).contains(&value) {
            return Err(de::Error::custom(format!("{value} is out of range {MIN}..={MAX}")));
        }
        Ok(Int(value))
    }
}

/// A byte size in `MIN..=MAX` bytes, written as an integer or with a unit ("256KiB").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Size<const MIN: u64, const MAX: u64>(pub(crate) u64);

impl<'de, const MIN: u64, const MAX: u64> Deserialize<'de> for Size<MIN, MAX> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = match Scalar::deserialize(deserializer)? {
            Scalar::Int(v) => v,
            Scalar::Text(text) => parse_size(&text).map_err(de::Error::custom)?,
        };
        if !(MIN..=MAX).contains(&value) {
            let (lo, hi, v) = (format_size(MIN), format_size(MAX), format_size(value));
            return Err(de::Error::custom(format!("{v} is out of range {lo}..={hi}")));
        }
        Ok(Size(value))
    }
}

/// A duration in `MIN_US..=MAX_US` microseconds, written as "40ms", "2s", "1h".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Dur<const MIN_US: u64, const MAX_US: u64>(pub(crate) Duration);

impl<const MIN_US: u64, const MAX_US: u64> Dur<MIN_US, MAX_US> {
    /// A default value, in milliseconds (not checked against the bounds).
    pub(crate) const fn millis(ms: u64) -> Self {
        Dur(Duration::from_millis(ms))
    }
}

impl<'de, const MIN_US: u64, const MAX_US: u64> Deserialize<'de> for Dur<MIN_US, MAX_US> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = match Scalar::deserialize(deserializer)? {
            Scalar::Text(text) => text,
            Scalar::Int(v) => {
                let msg = format!("invalid duration {v}: a duration needs a unit, e.g. \"{v}s\"");
                return Err(de::Error::custom(msg));
            }
        };
        let value = parse_duration(&text).map_err(de::Error::custom)?;
        let micros = value.total_micros();
        if !(MIN_US..=MAX_US).contains(&micros) {
            let lo = format_duration(Duration::from_micros(MIN_US));
            let hi = format_duration(Duration::from_micros(MAX_US));
            return Err(de::Error::custom(format!("{text:?} is out of range {lo}..={hi}")));
        }
        Ok(Dur(value))
    }
}

/// An IPv4 or IPv6 address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct IpAddress(pub(crate) IpAddr);

impl<'de> Deserialize<'de> for IpAddress {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse()
            .map(IpAddress)
            .map_err(|_| de::Error::custom(format!("invalid IP address {text:?}")))
    }
}

/// An address and port: `10.0.0.1:80` or `[2001:db8::1]:80`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct SockAddr(pub(crate) SocketAddr);

impl<'de> Deserialize<'de> for SockAddr {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        match text.parse::<SocketAddr>() {
            Ok(addr) if addr.port() == 0 => {
                Err(de::Error::custom(format!("port 0 in socket address {text:?}")))
            }
            Ok(addr) => Ok(SockAddr(addr)),
            Err(_) => Err(de::Error::custom(format!("invalid socket address {text:?}"))),
        }
    }
}

/// A port or an inclusive range of ports: `443` or `"8000-8080"`, within 1..=65535.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PortRange {
    /// First port.
    pub(crate) first: u16,
    /// Last port (inclusive).
    pub(crate) last: u16,
}

impl PortRange {
    /// Whether the two ranges share a port.
    pub(crate) fn overlaps(&self, other: &PortRange) -> bool {
        self.first <= other.last && other.first <= self.last
    }
}

impl fmt::Display for PortRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.first == self.last {
            write!(f, "{}", self.first)
        } else {
            write!(f, "{}-{}", self.first, self.last)
        }
    }
}

/// Parses one port (1..=65535).
fn parse_port(text: &str) -> Result<u16, String> {
    let value: u64 = text.trim().parse().map_err(|_| format!("invalid port {text:?}"))?;
    u16::try_from(value)
        .ok()
        .filter(|port| *port != 0)
        .ok_or_else(|| format!("port {value} is out of range 1..=65535"))
}

fn parse_port_range(text: &str) -> Result<PortRange, String> {
    let (first, last) = match text.split_once('-') {
        Some((first, last)) => (parse_port(first)?, parse_port(last)?),
        None => (parse_port(text)?, parse_port(text)?),
    };
    if first > last {
        return Err(format!("port range {text:?} is empty (first port above last)"));
    }
    Ok(PortRange { first, last })
}

impl<'de> Deserialize<'de> for PortRange {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = match Scalar::deserialize(deserializer)? {
            Scalar::Int(v) => v.to_string(),
            Scalar::Text(text) => text,
        };
        parse_port_range(&text).map_err(de::Error::custom)
    }
}

/// A network interface name (1 to 15 bytes, Linux's IFNAMSIZ less the NUL).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct IfName(pub(crate) String);

impl<'de> Deserialize<'de> for IfName {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        let bad_char = text.chars().any(|c| c == '/' || c == ':' || c.is_whitespace());
        if text.is_empty() || text.len() > 15 || bad_char {
            let msg = format!(
                "invalid interface name {text:?}: 1 to 15 bytes, no '/', ':' or whitespace"
            );
            return Err(de::Error::custom(msg));
        }
        Ok(IfName(text))
    }
}
