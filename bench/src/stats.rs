//! Order statistics over a handful of samples.

/// The q-quantile (0..=1) by nearest rank; None for no samples.
pub fn quantile(samples: &[f64], q: f64) -> Option<f64> {
    if samples.is_empty() {
        return None;
    }
    let mut v = samples.to_vec();
    v.sort_by(f64::total_cmp);
    let rank = (q * v.len() as f64).ceil().max(1.0) as usize;
    v.get(rank.min(v.len()) - 1).copied()
}

pub fn median(samples: &[f64]) -> Option<f64> {
    if samples.len().is_multiple_of(2) && !samples.is_empty() {
        // The mean of the two middle values, so 4 samples do not report the lower one.
        let mut v = samples.to_vec();
        v.sort_by(f64::total_cmp);
        let h = v.len() / 2;
        return Some((v[h - 1] + v[h]) / 2.0);
    }
    quantile(samples, 0.5)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_odd_and_even_counts() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), Some(2.5));
        assert_eq!(median(&[]), None);
    }

    #[test]
    fn p90_of_twenty_samples_is_the_eighteenth() {
        let v: Vec<f64> = (1..=20).map(f64::from).collect();
        assert_eq!(quantile(&v, 0.9), Some(18.0));
        assert_eq!(quantile(&[5.0], 0.9), Some(5.0));
    }
}
