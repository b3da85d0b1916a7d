//! A small seeded PRNG (xoshiro256++, seeded by SplitMix64), kept here so the
//! generator's bytes never change with a crate update.

pub struct Rng {
    s: [u64; 4],
}

fn splitmix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl Rng {
    pub fn new(seed: u64) -> Self {
        let mut st = seed;
        Rng { s: [splitmix(&mut st), splitmix(&mut st), splitmix(&mut st), splitmix(&mut st)] }
    }

    pub fn next_u64(&mut self) -> u64 {
        let s = &mut self.s;
        let out = s[0].wrapping_add(s[3]).rotate_left(23).wrapping_add(s[0]);
        let t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = s[3].rotate_left(45);
        out
    }

    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform in (0, 1]: safe under `ln`.
    pub fn open_unit(&mut self) -> f64 {
        1.0 - self.unit()
    }

    /// Uniform in [0, n); n > 0.
    pub fn below(&mut self, n: u64) -> u64 {
        ((self.next_u64() as u128 * n as u128) >> 64) as u64
    }

    /// Standard normal (Box-Muller; one value per call keeps the stream simple).
    pub fn normal(&mut self) -> f64 {
        let r = (-2.0 * self.open_unit().ln()).sqrt();
        r * (std::f64::consts::TAU * self.unit()).cos()
    }

    /// exp(N(mu, sigma)).
    pub fn lognormal(&mut self, mu: f64, sigma: f64) -> f64 {
        (mu + sigma * self.normal()).exp()
    }
}

/// A bijection of [0, m) (affine mod m), so popular ranks do not get the small ids.
pub struct Permutation {
    m: u64,
    a: u64,
    b: u64,
}

fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

impl Permutation {
    pub fn new(m: u64, rng: &mut Rng) -> Self {
        let m = m.max(1);
        let mut a = rng.below(m) | 1;
        while gcd(a, m) != 1 {
            a = (a + 1) % m.max(2);
        }
        Permutation { m, a: a.max(1), b: rng.below(m) }
    }

    pub fn apply(&self, x: u64) -> u64 {
        if self.m <= 1 << 32 {
            // a, x, b < m <= 2^32: no overflow, and u64 division is much cheaper.
            return (x * self.a + self.b) % self.m;
        }
        ((x as u128 * self.a as u128 + self.b as u128) % self.m as u128) as u64
    }
}
