//! What each synthetic file is: its directory, name, size, modification time and planted words, all a
//! pure function of the seed and the file's number (so any number of threads writes the same tree).
//!
//! Sizes: a log-normal body (median 3 KiB, sigma 0.8: about 88% of files between 1 and 16 KiB), clamped
//! to 200 B .. 64 KiB, and a tail: one file in 5,000 is log-uniform between 64 KiB and 10 MiB. The mean
//! is about 4.5 KiB. Modification times lie in the two years before 2026-12-01 00:00 UTC, denser towards
//! the end (the age is 730 days times the square of a uniform draw). Ten files per directory, 1,000
//! directories per top-level folder.

use std::f64::consts::TAU;

/// Files per directory.
pub const FILES_PER_DIR: u64 = 10;
/// Directories per top-level folder.
pub const DIRS_PER_TOP: u64 = 1000;
/// The newest modification time (2026-12-01 00:00:00 UTC), seconds since the epoch.
pub const NEWEST_MTIME: i64 = 1_796_083_200;
const AGE_SPAN_S: f64 = 730.0 * 86_400.0;
const TAIL_ONE_IN: u64 = 5000;
const EXTENSIONS: [(&str, u32); 8] = [
    ("txt", 40),
    ("md", 15),
    ("py", 10),
    ("rs", 10),
    ("log", 10),
    ("c", 5),
    ("csv", 5),
    ("json", 5),
];

/// Lines of other scripts planted in every 1,000th file (at positions 7, 8 and 9 of each thousand), so
/// CJK, Greek and Cyrillic queries have a known answer.
pub const SCRIPT_LINES: [(u64, &str); 3] = [
    (7, "東京都の天気は晴れです"),
    (8, "καλημέρα κόσμε"),
    (9, "ёлка и берёза"),
];

/// A deterministic stream of random 64-bit numbers (splitmix64).
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// The stream for `(seed, stream, n)`: different streams of one seed are unrelated.
    pub fn new(seed: u64, stream: u64, n: u64) -> Self {
        let mut r = Self(seed ^ stream.wrapping_mul(0xD1B5_4A32_D192_ED03));
        r.0 ^= r.bits().wrapping_add(n.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        r
    }

    /// The next number.
    pub fn bits(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.bits() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in 0..n (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.bits()) * u128::from(n)) >> 64) as u64
    }
}

/// Streams of the seed, one per decision.
pub mod stream {
    /// A file's size, name, time.
    pub const FILE: u64 = 1;
    /// A file's words.
    pub const TEXT: u64 = 2;
    /// A directory's name.
    pub const DIR: u64 = 3;
    /// Which files hold a planted word.
    pub const PLANT: u64 = 4;
}

/// A file's size in bytes.
pub fn size(rng: &mut Rng, n: u64) -> u64 {
    if n % TAIL_ONE_IN == TAIL_ONE_IN / 2 {
        let (lo, hi) = ((64u64 << 10) as f64, (10u64 << 20) as f64);
        return (lo * (hi / lo).powf(rng.unit())) as u64;
    }
    // Box-Muller: one standard normal draw.
    let (u1, u2) = (1.0 - rng.unit(), rng.unit());
    let z = (-2.0 * u1.ln()).sqrt() * (TAU * u2).cos();
    ((3072.0 * (0.8 * z).exp()) as u64).clamp(200, 64 << 10)
}

/// A file's modification time, seconds since the epoch.
pub fn mtime(rng: &mut Rng) -> i64 {
    let u = rng.unit();
    NEWEST_MTIME - (AGE_SPAN_S * u * u) as i64
}

/// A file's extension (weighted: mostly `.txt` and `.md`, some code, logs and data).
pub fn extension(rng: &mut Rng) -> &'static str {
    let total: u32 = EXTENSIONS.iter().map(|e| e.1).sum();
    let mut pick = rng.below(u64::from(total)) as u32;
    for (ext, w) in EXTENSIONS {
        if pick < w {
            return ext;
        }
        pick -= w;
    }
    "txt"
}

/// The planted rare word number `k`: a made-up word of three syllables that no real text holds.
pub fn planted_word(k: usize) -> String {
    const SYL: [&str; 10] = [
        "zor", "vek", "quil", "marn", "thax", "yul", "brin", "oss", "kel", "dru",
    ];
    format!(
        "fx{}{}{}ix",
        SYL[k / 100 % 10],
        SYL[k / 10 % 10],
        SYL[k % 10]
    )
}

/// How many files hold planted word `k` (1 to 10).
pub fn planted_count(k: usize) -> u64 {
    1 + (k % 10) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_follow_the_documented_distribution() {
        let n = 200_000;
        let mut in_body = 0;
        let mut total = 0u64;
        for i in 0..n {
            let s = size(&mut Rng::new(1, stream::FILE, i), i);
            total += s;
            if (1024..=16 << 10).contains(&s) {
                in_body += 1;
            }
            assert!((200..=10 << 20).contains(&s), "{s}");
        }
        let share = in_body as f64 / n as f64;
        assert!((0.84..0.92).contains(&share), "{share}");
        let mean = total as f64 / n as f64;
        assert!((3500.0..6500.0).contains(&mean), "{mean}");
    }

    #[test]
    fn streams_are_deterministic_and_distinct() {
        assert_eq!(Rng::new(5, 1, 9).bits(), Rng::new(5, 1, 9).bits());
        assert_ne!(Rng::new(5, 1, 9).bits(), Rng::new(5, 2, 9).bits());
        assert_ne!(Rng::new(5, 1, 9).bits(), Rng::new(5, 1, 10).bits());
        let t = mtime(&mut Rng::new(5, 1, 9));
        assert!(t <= NEWEST_MTIME && t > NEWEST_MTIME - 731 * 86_400);
        assert_ne!(planted_word(1), planted_word(10));
    }
}
