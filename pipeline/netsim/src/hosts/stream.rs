//! The seeded byte streams the applications send: byte `i` of stream `seed` is a pure function
//! of `(seed, i)`, so neither side stores the stream; the receiver regenerates what it expects.

use crate::mix64;

/// One seeded pseudo-random byte stream.
#[derive(Debug, Clone, Copy)]
pub struct Stream {
    seed: u64,
}

impl Stream {
    /// The stream of `seed`.
    pub fn new(seed: u64) -> Stream {
        Stream { seed }
    }

    /// The eight bytes of word `w` (bytes `8w..8w+8`).
    fn word(&self, w: u64) -> [u8; 8] {
        mix64(self.seed ^ w.wrapping_mul(0x9e37_79b9_7f4a_7c15)).to_le_bytes()
    }

    /// Writes bytes `offset..offset + out.len()` of the stream into `out`.
    pub fn fill(&self, offset: u64, out: &mut [u8]) {
        let mut pos = offset;
        let mut i = 0;
        while i < out.len() {
            let word = self.word(pos / 8);
            let skip = (pos % 8) as usize;
            let n = (8 - skip).min(out.len() - i);
            out[i..i + n].copy_from_slice(&word[skip..skip + n]);
            i += n;
            pos += n as u64;
        }
    }

    /// The first position in `got` that differs from the stream at `offset`, if any.
    pub fn mismatch(&self, offset: u64, got: &[u8]) -> Option<usize> {
        let mut want = [0u8; 4096];
        for (chunk_no, chunk) in got.chunks(want.len()).enumerate() {
            let at = chunk_no * want.len();
            self.fill(offset + at as u64, &mut want[..chunk.len()]);
            if let Some(p) = chunk.iter().zip(&want).position(|(a, b)| a != b) {
                return Some(at + p);
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::Stream;

    #[test]
    fn fill_is_random_access() {
        let s = Stream::new(7);
        let mut whole = [0u8; 100];
        s.fill(0, &mut whole);
        for start in 0..100 {
            let mut part = vec![0u8; 100 - start];
            s.fill(start as u64, &mut part);
            assert_eq!(part, whole[start..]);
        }
        assert_eq!(s.mismatch(3, &whole[3..]), None);
        assert_ne!(Stream::new(8).mismatch(0, &whole), None);
    }
}
