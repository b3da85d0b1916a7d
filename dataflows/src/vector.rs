//! A fixed-point vector as a differential *difference* type: adding contributions
//! is a consolidation, so sums are exact for any batching and any worker count.

use differential_dataflow::difference::{Abelian, IsZero, Monoid, Multiply, Semigroup};
use serde::{Deserialize, Serialize};
use smallvec::SmallVec;

/// Inline storage: records are cloned at every merge of an arrangement, and a heap
/// allocation per clone dominated the cost.
pub type Sums = SmallVec<[i64; 34]>;

/// Component-wise sum; shorter vectors act as if padded with zeros.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct VecSum(pub Sums);

impl VecSum {
    /// `[head, v...]`: a leading component (a weight or a count) keeps the sum from
    /// vanishing when the vector part cancels to zero.
    pub fn with_head(head: i64, v: impl IntoIterator<Item = i64>) -> Self {
        VecSum(std::iter::once(head).chain(v).collect())
    }

    /// `v * factor`.
    pub fn scaled(head: i64, v: &[i64], factor: i64) -> Self {
        VecSum::with_head(head, v.iter().map(|x| x * factor))
    }

    pub fn head(&self) -> i64 {
        self.0.first().copied().unwrap_or(0)
    }

    pub fn tail(&self) -> &[i64] {
        self.0.get(1..).unwrap_or(&[])
    }
}

impl IsZero for VecSum {
    fn is_zero(&self) -> bool {
        self.0.iter().all(|x| *x == 0)
    }
}

impl Semigroup for VecSum {
    fn plus_equals(&mut self, rhs: &Self) {
        if self.0.len() < rhs.0.len() {
            self.0.resize(rhs.0.len(), 0);
        }
        for (a, b) in self.0.iter_mut().zip(&rhs.0) {
            *a += b;
        }
    }
}

impl Monoid for VecSum {
    fn zero() -> Self {
        VecSum(Sums::new())
    }
}

impl Abelian for VecSum {
    fn negate(&mut self) {
        for a in self.0.iter_mut() {
            *a = -*a;
        }
    }
}

impl Multiply<isize> for VecSum {
    type Output = VecSum;
    fn multiply(mut self, rhs: &isize) -> VecSum {
        for a in self.0.iter_mut() {
            *a *= *rhs as i64;
        }
        self
    }
}

/// `floor(v / d)` per component.
pub fn floor_div(v: &[i64], d: i64) -> Vec<i64> {
    v.iter().map(|x| x.div_euclid(d.max(1))).collect()
}
