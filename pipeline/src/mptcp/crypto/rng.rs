//! The pipeline's own CSPRNG for MPTCP keys and join nonces.

use core::fmt;

use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};

use super::keys::{HashAlgo, KeyMaterial};

/// A ChaCha20 generator for MPTCP keys and MP_JOIN nonces, seeded by the caller.
///
/// RFC 8684 §3.1 and §5 require keys that an attacker cannot predict; RFC 8684 §3.2 requires
/// random nonces. The pipeline makes no system calls, so the appliance seeds one `KeyRng` per
/// worker from the operating system (`getrandom`), and the simulator seeds it from its test
/// seed so runs replay exactly. The generator is neither `Clone` nor printable: a copy would
/// repeat the stream, and its state is secret.
pub struct KeyRng {
    rng: ChaCha20Rng,
}

impl KeyRng {
    /// A generator seeded with 32 bytes. They must come from a cryptographically secure source
    /// outside tests, and must differ between generators.
    pub fn from_seed(seed: [u8; 32]) -> Self {
        KeyRng { rng: ChaCha20Rng::from_seed(seed) }
    }

    /// A fresh random 64-bit key (RFC 8684 §3.1).
    pub fn generate_key(&mut self) -> u64 {
        self.rng.next_u64()
    }

    /// Draws keys until the token of one satisfies `accept`, trying at most `max_attempts`
    /// keys, and returns it with its token and IDSN; `None` when every attempt was rejected.
    ///
    /// The appliance uses `accept` to make the token name the worker that owns the connection
    /// and to keep tokens unique on the host (RFC 8684 §3.1: a token MUST be unique for the
    /// host; on a clash a new key is drawn). Each attempt costs one hash. If a fraction `p` of
    /// tokens is acceptable, the chance that `n` attempts all fail is `(1 - p)^n`: with one
    /// token in 256 acceptable, 8192 attempts fail with probability below 1e-13.
    pub fn generate_key_where(
        &mut self,
        algo: HashAlgo,
        max_attempts: u32,
        mut accept: impl FnMut(u32) -> bool,
    ) -> Option<KeyMaterial> {
        (0..max_attempts)
            .map(|_| KeyMaterial::new(self.generate_key(), algo))
            .find(|material| accept(material.token()))
    }

    /// A random 32-bit value, for the nonces of MP_JOIN (RFC 8684 §3.2).
    pub fn random_u32(&mut self) -> u32 {
        self.rng.next_u32()
    }
}

impl fmt::Debug for KeyRng {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("KeyRng { .. }")
    }
}
