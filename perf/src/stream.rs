//! The deterministic, seeded pseudo-random byte stream both ends generate.
//!
//! Byte `p` of the stream with seed `s` is byte `p % 8` (little-endian) of
//! `splitmix64(s + (p / 8 + 1) * GOLDEN)`: the stream is addressable by offset, so a
//! receiver can check any byte it is given without keeping state beyond its offset, and a
//! sender and a receiver that agree on the seed agree on every byte.

/// The splitmix64 increment (2^64 divided by the golden ratio).
const GOLDEN: u64 = 0x9E37_79B9_7F4A_7C15;

/// One 64-bit block of the stream: the splitmix64 output for counter `index`.
fn block(seed: u64, index: u64) -> u64 {
    let mut z = seed.wrapping_add(index.wrapping_add(1).wrapping_mul(GOLDEN));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A cursor into the stream of one seed: `fill` yields the next bytes.
#[derive(Debug, Clone)]
pub(crate) struct StreamGen {
    seed: u64,
    offset: u64,
}

impl StreamGen {
    /// The stream of `seed`, from its first byte.
    pub(crate) fn new(seed: u64) -> Self {
        Self { seed, offset: 0 }
    }

    /// How many bytes have been produced (or checked) so far.
    pub(crate) fn offset(&self) -> u64 {
        self.offset
    }

    /// Writes the next `buf.len()` bytes of the stream into `buf`.
    pub(crate) fn fill(&mut self, buf: &mut [u8]) {
        let mut pos = 0;
        // Head: finish the partly used block.
        while pos < buf.len() && !(self.offset + pos as u64).is_multiple_of(8) {
            buf[pos] = self.byte_at(self.offset + pos as u64);
            pos += 1;
        }
        let mut index = (self.offset + pos as u64) / 8;
        let mut chunks = buf[pos..].chunks_exact_mut(8);
        for chunk in &mut chunks {
            chunk.copy_from_slice(&block(self.seed, index).to_le_bytes());
            index += 1;
        }
        let tail = chunks.into_remainder();
        let bytes = block(self.seed, index).to_le_bytes();
        let n = tail.len();
        tail.copy_from_slice(&bytes[..n]);
        self.offset += buf.len() as u64;
    }

    /// The byte at absolute stream offset `p`.
    fn byte_at(&self, p: u64) -> u8 {
        block(self.seed, p / 8).to_le_bytes()[(p % 8) as usize]
    }
}

/// Checks received bytes against the stream and remembers the first mismatch.
#[derive(Debug)]
pub(crate) struct Verifier {
    expected: StreamGen,
    scratch: Vec<u8>,
    mismatch: Option<u64>,
}

impl Verifier {
    /// A verifier for the stream of `seed`, expecting its first byte next.
    pub(crate) fn new(seed: u64) -> Self {
        Self { expected: StreamGen::new(seed), scratch: Vec::new(), mismatch: None }
    }

    /// Checks the next received bytes; after the first mismatch only counts.
    pub(crate) fn check(&mut self, data: &[u8]) {
        let start = self.expected.offset();
        if self.mismatch.is_some() {
            self.expected.offset = start + data.len() as u64;
            return;
        }
        self.scratch.resize(data.len(), 0);
        self.expected.fill(&mut self.scratch);
        if let Some(i) = self.scratch.iter().zip(data).position(|(a, b)| a != b) {
            self.mismatch = Some(start + i as u64);
        }
    }

    /// Bytes checked so far.
    pub(crate) fn bytes(&self) -> u64 {
        self.expected.offset()
    }

    /// The stream offset of the first byte that differed, if any did.
    pub(crate) fn mismatch(&self) -> Option<u64> {
        self.mismatch
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn whole(seed: u64, len: usize) -> Vec<u8> {
        let mut v = vec![0; len];
        StreamGen::new(seed).fill(&mut v);
        v
    }

    #[test]
    fn same_seed_same_bytes_different_seed_different_bytes() {
        assert_eq!(whole(7, 1000), whole(7, 1000));
        assert_ne!(whole(7, 1000), whole(8, 1000));
    }

    #[test]
    fn known_answer_first_block() {
        // splitmix64 with state 0 yields 0xE220A8397B1DCDAF as its first output.
        assert_eq!(whole(0, 8), 0xE220_A839_7B1D_CDAFu64.to_le_bytes());
    }

    #[test]
    fn chunking_does_not_change_the_stream() {
        let reference = whole(42, 4099);
        for step in [1, 3, 7, 8, 9, 64, 1000] {
            let mut g = StreamGen::new(42);
            let mut got = Vec::new();
            while got.len() < reference.len() {
                let n = step.min(reference.len() - got.len());
                let mut buf = vec![0; n];
                g.fill(&mut buf);
                got.extend_from_slice(&buf);
            }
            assert_eq!(got, reference, "step {step}");
        }
    }

    #[test]
    fn verifier_accepts_the_stream_and_finds_the_first_bad_byte() {
        let mut data = whole(5, 10_000);
        let mut ok = Verifier::new(5);
        for c in data.chunks(333) {
            ok.check(c);
        }
        assert_eq!((ok.bytes(), ok.mismatch()), (10_000, None));
        data[4321] ^= 1;
        data[9000] ^= 1;
        let mut bad = Verifier::new(5);
        for c in data.chunks(1000) {
            bad.check(c);
        }
        assert_eq!((bad.bytes(), bad.mismatch()), (10_000, Some(4321)));
    }
}
