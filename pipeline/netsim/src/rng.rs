//! The simulator's pseudo-random number generator, written out here so that a run never
//! changes because a dependency changed its algorithm.
//!
//! - [`SplitMix64`] (Steele, Lea, Flood, "Fast splittable pseudorandom number generators",
//!   OOPSLA 2014; Vigna's reference `splitmix64.c`) turns one 64-bit seed into well-mixed
//!   words. It seeds the main generator and derives independent streams.
//! - [`Rng`] is xoshiro256** (Blackman and Vigna, "Scrambled linear pseudorandom number
//!   generators", ACM TOMS 2021; reference `xoshiro256starstar.c`): 256 bits of state,
//!   period 2^256 - 1, fast, and good enough for every statistical test a network scenario
//!   needs. It is not cryptographic.
//!
//! Everything here is integer arithmetic: the same seed gives the same numbers on every
//! machine and in every build. Probabilities are integers in parts per million
//! ([`Rng::chance_ppm`]); bounded integers use Lemire's multiply-and-reject method
//! ([`Rng::below`]), which is exactly uniform.

/// One million: the denominator of every probability the simulator takes.
pub const PPM: u32 = 1_000_000;

/// The golden-ratio increment of SplitMix64, `floor(2^64 / phi)`, odd.
const GOLDEN_GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;

/// SplitMix64: a 64-bit counter passed through a strong bit mixer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    /// A generator whose first output is `mix(seed + GOLDEN_GAMMA)`.
    pub const fn new(seed: u64) -> Self {
        SplitMix64 { state: seed }
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(GOLDEN_GAMMA);
        mix64(self.state)
    }
}

/// SplitMix64's finaliser (a variant of MurmurHash3's `fmix64`): a bijection on `u64` in
/// which every input bit affects every output bit.
pub const fn mix64(z: u64) -> u64 {
    let z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    let z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// xoshiro256**: the generator behind every random decision in the simulator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rng {
    s: [u64; 4],
}

impl Rng {
    /// A generator seeded from `seed` by four SplitMix64 outputs, as the xoshiro authors
    /// recommend. Any seed, including zero, gives a valid state.
    pub fn new(seed: u64) -> Self {
        let mut sm = SplitMix64::new(seed);
        Rng { s: [sm.next_u64(), sm.next_u64(), sm.next_u64(), sm.next_u64()] }
    }

    /// Stream number `stream` of the family seeded by `seed`. Streams with different numbers
    /// are statistically independent, so giving each link direction its own stream keeps the
    /// random decisions on one link unchanged when traffic on another link changes.
    pub fn stream(seed: u64, stream: u64) -> Self {
        Rng::new(seed ^ mix64(stream.wrapping_add(GOLDEN_GAMMA)))
    }

    /// A generator with exactly this state (for known-answer tests). The all-zero state is a
    /// fixed point of xoshiro, so it is replaced by the state of `Rng::new(0)`.
    pub fn from_state(s: [u64; 4]) -> Self {
        if s == [0; 4] { Rng::new(0) } else { Rng { s } }
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let result = self.s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = self.s[1] << 17;
        self.s[2] ^= self.s[0];
        self.s[3] ^= self.s[1];
        self.s[1] ^= self.s[2];
        self.s[0] ^= self.s[3];
        self.s[2] ^= t;
        self.s[3] = self.s[3].rotate_left(45);
        result
    }

    /// The next 32 random bits (the high half of a 64-bit output, the better half).
    pub fn next_u32(&mut self) -> u32 {
        (self.next_u64() >> 32) as u32
    }

    /// A uniformly distributed integer in `0..n`; `0` when `n` is `0`.
    ///
    /// Lemire, "Fast random integer generation in an interval" (ACM TOMACS 2019): the high
    /// word of `x * n` is the result, and the rare low words that would bias it are rejected.
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            return 0;
        }
        let mut m = u128::from(self.next_u64()) * u128::from(n);
        if (m as u64) < n {
            let threshold = n.wrapping_neg() % n;
            while (m as u64) < threshold {
                m = u128::from(self.next_u64()) * u128::from(n);
            }
        }
        (m >> 64) as u64
    }

    /// A uniformly distributed integer in `lo..=hi`; `lo` when `hi <= lo`.
    pub fn range_inclusive(&mut self, lo: u64, hi: u64) -> u64 {
        if hi <= lo {
            return lo;
        }
        match (hi - lo).checked_add(1) {
            Some(span) => lo + self.below(span),
            None => self.next_u64(),
        }
    }

    /// `true` with probability `ppm / 1_000_000`; always for `ppm >= 1_000_000`, never for 0.
    /// Draws nothing when the answer is certain, so a zero probability leaves the stream
    /// untouched.
    pub fn chance_ppm(&mut self, ppm: u32) -> bool {
        match ppm {
            0 => false,
            p if p >= PPM => true,
            p => self.below(u64::from(PPM)) < u64::from(p),
        }
    }

    /// Fills `buf` with random bytes, eight at a time, little-endian.
    pub fn fill_bytes(&mut self, buf: &mut [u8]) {
        for chunk in buf.chunks_mut(8) {
            let word = self.next_u64().to_le_bytes();
            chunk.copy_from_slice(&word[..chunk.len()]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitmix64_known_answer() {
        // Reference outputs of splitmix64.c for seed 1234567 (also on Rosetta Code).
        let mut sm = SplitMix64::new(1_234_567);
        let expected = [
            6_457_827_717_110_365_317,
            3_203_168_211_198_807_973,
            9_817_491_932_198_370_423,
            4_593_380_528_125_082_431,
            16_408_922_859_458_223_821,
        ];
        for want in expected {
            assert_eq!(sm.next_u64(), want);
        }
    }

    #[test]
    fn xoshiro256starstar_known_answer() {
        // Reference outputs of xoshiro256starstar.c from the state {1, 2, 3, 4}.
        let mut rng = Rng::from_state([1, 2, 3, 4]);
        let expected = [
            11_520,
            0,
            1_509_978_240,
            1_215_971_899_390_074_240,
            1_216_172_134_540_287_360,
            607_988_272_756_665_600,
            16_172_922_978_634_559_625,
            8_476_171_486_693_032_832,
            10_595_114_339_597_558_777,
            2_904_607_092_377_533_576,
        ];
        for want in expected {
            assert_eq!(rng.next_u64(), want);
        }
    }

    #[test]
    fn below_stays_in_range_and_covers_it() {
        let mut rng = Rng::new(7);
        let mut seen = [0u32; 6];
        for _ in 0..6_000 {
            let x = rng.below(6);
            seen[usize::try_from(x).expect("below(6) < 6")] += 1;
        }
        assert!(seen.iter().all(|&c| (850..1150).contains(&c)), "{seen:?}");
        assert_eq!(rng.below(0), 0);
        assert_eq!(rng.below(1), 0);
    }

    #[test]
    fn range_inclusive_handles_edges() {
        let mut rng = Rng::new(1);
        assert_eq!(rng.range_inclusive(5, 5), 5);
        assert_eq!(rng.range_inclusive(9, 3), 9);
        for _ in 0..100 {
            assert!((10..=12).contains(&rng.range_inclusive(10, 12)));
        }
        let _full = rng.range_inclusive(0, u64::MAX);
    }

    #[test]
    fn chance_ppm_extremes_draw_nothing() {
        let mut a = Rng::new(3);
        let b = a.clone();
        assert!(!a.chance_ppm(0));
        assert!(a.chance_ppm(PPM));
        assert!(a.chance_ppm(u32::MAX));
        assert_eq!(a, b);
    }

    #[test]
    fn chance_ppm_rate_is_close() {
        let mut rng = Rng::new(11);
        let hits = (0..200_000).filter(|_| rng.chance_ppm(25_000)).count();
        // Expected 5000, standard deviation about 70.
        assert!((4_700..5_300).contains(&hits), "{hits}");
    }

    #[test]
    fn streams_differ_and_repeat() {
        let first: Vec<u64> = (0..4).map(|s| Rng::stream(42, s).next_u64()).collect();
        let again: Vec<u64> = (0..4).map(|s| Rng::stream(42, s).next_u64()).collect();
        assert_eq!(first, again);
        for i in 0..4 {
            for j in i + 1..4 {
                assert_ne!(first[i], first[j]);
            }
        }
        assert_eq!(Rng::from_state([0; 4]), Rng::new(0));
    }

    #[test]
    fn fill_bytes_handles_partial_words() {
        let mut rng = Rng::new(5);
        let mut buf = [0u8; 13];
        rng.fill_bytes(&mut buf);
        assert!(buf.iter().any(|&b| b != 0));
    }
}
