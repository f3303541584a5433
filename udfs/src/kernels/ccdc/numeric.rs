//! The few numpy behaviours that decide pyccd's answers, reproduced exactly: pairwise summation
//! (`np.sum`, `np.mean`), `np.median`, and `np.argsort`'s default introsort, whose order among
//! equal keys picks which observations pyccd keeps and which residuals it compares.

/// `np.sum` of a contiguous float array: numpy's pairwise summation (8 accumulators in blocks of
/// at most 128, halves above that), so sums and means round as numpy's do.
pub fn sum(values: &[f64]) -> f64 {
    pairwise(values, &|v| v)
}

/// `np.sum(values ** 2)` of a contiguous array, without the temporary array of squares.
pub fn sum_of_squares(values: &[f64]) -> f64 {
    pairwise(values, &|v| v * v)
}

/// numpy's pairwise summation of `term` over `values`.
fn pairwise(values: &[f64], term: &impl Fn(f64) -> f64) -> f64 {
    const BLOCK: usize = 128;
    let n = values.len();
    if n < 8 {
        // numpy starts from -0.0 so that a sum of negative zeros stays negative zero.
        return values.iter().fold(-0.0, |acc, &v| acc + term(v));
    }
    if n <= BLOCK {
        let mut r: [f64; 8] = std::array::from_fn(|k| term(values[k]));
        let mut i = 8;
        while i < n - n % 8 {
            for (k, acc) in r.iter_mut().enumerate() {
                *acc += term(values[i + k]);
            }
            i += 8;
        }
        let mut total = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        for &v in &values[i..] {
            total += term(v);
        }
        return total;
    }
    let mut half = n / 2;
    half -= half % 8;
    pairwise(&values[..half], term) + pairwise(&values[half..], term)
}

/// `np.mean`.
pub fn mean(values: &[f64]) -> f64 {
    sum(values) / values.len() as f64
}

/// `np.median`: NaN for no values, the mean of the middle two for an even count.
pub fn median(values: &[f64]) -> f64 {
    median_of(values.to_vec())
}

/// [`median`] of values the caller no longer needs, reordering them in place of a copy.
pub fn median_of(mut v: Vec<f64>) -> f64 {
    let n = v.len();
    if n == 0 || v.iter().any(|x| x.is_nan()) {
        return f64::NAN;
    }
    let mid = n / 2;
    let (_, upper, _) = v.select_nth_unstable_by(mid, f64::total_cmp);
    let upper = *upper;
    if n % 2 == 1 {
        return upper;
    }
    let lower = v[..mid].iter().copied().fold(f64::NEG_INFINITY, f64::max);
    // np.mean of the two middle values.
    (lower + upper) / 2.0
}

/// `np.round`: halves to even. Adding and taking away 1.5 * 2^52 rounds exactly that way in
/// default floating-point rounding, without the libm call that baseline x86-64 makes of it.
pub fn round(x: f64) -> f64 {
    const SHIFT: f64 = 6_755_399_441_055_744.0;
    if x.abs() < 2f64.powi(51) {
        (x + SHIFT) - SHIFT
    } else {
        x.round_ties_even()
    }
}

/// numpy's "less than" for sorting: NaN sorts last.
fn less<T: PartialOrd>(a: &T, b: &T) -> bool {
    #[allow(clippy::eq_op)]
    let b_is_nan = b != b;
    #[allow(clippy::eq_op)]
    let a_is_nan = a != a;
    a < b || (b_is_nan && !a_is_nan)
}

/// `np.argsort(values)` with numpy's default `kind='quicksort'` (numpy 1.23: introsort, median of
/// three, insertion sort up to 16 elements, heapsort past the depth limit). Not stable: equal
/// keys come out in the order this exact procedure leaves them, which pyccd's results depend on.
pub fn argsort<T: PartialOrd + Copy>(values: &[T]) -> Vec<usize> {
    argsort_prefix(values, values.len())
}

/// The first `limit` positions of [`argsort`], exactly as numpy leaves them (the rest in no
/// particular order). Introsort never moves an element across a partition boundary, so the
/// partitions lying wholly past `limit` cannot change the prefix and are left unsorted.
pub fn argsort_prefix<T: PartialOrd + Copy>(values: &[T], limit: usize) -> Vec<usize> {
    const SMALL_QUICKSORT: usize = 15;
    let n = values.len();
    let mut order: Vec<usize> = (0..n).collect();
    if n < 2 {
        return order;
    }
    let v = |i: usize| values[i];
    let mut stack: Vec<(usize, usize, i32)> = Vec::new();
    let (mut pl, mut pr) = (0usize, n - 1);
    let mut depth = 2 * (usize::BITS - 1 - n.leading_zeros()) as i32;
    loop {
        if depth < 0 {
            heapsort(values, &mut order[pl..=pr]);
        } else {
            while pr - pl > SMALL_QUICKSORT {
                let pm = pl + ((pr - pl) >> 1);
                if less(&v(order[pm]), &v(order[pl])) {
                    order.swap(pm, pl);
                }
                if less(&v(order[pr]), &v(order[pm])) {
                    order.swap(pr, pm);
                }
                if less(&v(order[pm]), &v(order[pl])) {
                    order.swap(pm, pl);
                }
                let vp = v(order[pm]);
                let mut pi = pl;
                let mut pj = pr - 1;
                order.swap(pm, pj);
                loop {
                    pi += 1;
                    while less(&v(order[pi]), &vp) {
                        pi += 1;
                    }
                    pj -= 1;
                    while less(&vp, &v(order[pj])) {
                        pj -= 1;
                    }
                    if pi >= pj {
                        break;
                    }
                    order.swap(pi, pj);
                }
                order.swap(pi, pr - 1);
                depth -= 1;
                // Push the larger partition, go on with the smaller (unless past `limit`).
                if pi - pl < pr - pi {
                    if pi + 1 < limit {
                        stack.push((pi + 1, pr, depth));
                    }
                    pr = pi - 1;
                } else {
                    stack.push((pl, pi - 1, depth));
                    pl = pi + 1;
                }
            }
            if pl < limit {
                for pi in pl + 1..=pr {
                    let vi = order[pi];
                    let vp = v(vi);
                    let mut pj = pi;
                    while pj > pl && less(&vp, &v(order[pj - 1])) {
                        order[pj] = order[pj - 1];
                        pj -= 1;
                    }
                    order[pj] = vi;
                }
            }
        }
        match stack.pop() {
            Some((l, r, d)) => {
                pl = l;
                pr = r;
                depth = d;
            }
            None => return order,
        }
    }
}

/// [`argsort`] for keys that are usually distinct, such as a pixel's dates. Distinct keys have
/// one sorted order whatever the algorithm, so the standard library's sort gives it; numpy's own
/// procedure runs only when keys repeat (or are NaN), to place equal keys where numpy does.
pub fn argsort_distinct<T: PartialOrd + Copy>(values: &[T]) -> Vec<usize> {
    if values.windows(2).all(|w| w[0] < w[1]) {
        return (0..values.len()).collect();
    }
    let mut keyed: Vec<(T, usize)> = values.iter().copied().zip(0..).collect();
    keyed.sort_unstable_by(|a, b| a.0.partial_cmp(&b.0).unwrap_or(std::cmp::Ordering::Equal));
    if keyed.windows(2).all(|w| w[0].0 < w[1].0) {
        keyed.into_iter().map(|(_, i)| i).collect()
    } else {
        argsort(values)
    }
}

/// numpy's `aheapsort` over a slice of indices (1-based heap, as in its source).
fn heapsort<T: PartialOrd + Copy>(values: &[T], order: &mut [usize]) {
    let n = order.len();
    let v = |i: usize| values[i];
    // a[k] for k in 1..=n is order[k - 1].
    let sift = |order: &mut [usize], mut i: usize, n: usize, tmp: usize| {
        let mut j = i * 2;
        while j <= n {
            if j < n && less(&v(order[j - 1]), &v(order[j])) {
                j += 1;
            }
            if less(&v(tmp), &v(order[j - 1])) {
                order[i - 1] = order[j - 1];
                i = j;
                j += j;
            } else {
                break;
            }
        }
        order[i - 1] = tmp;
    };
    for l in (1..=n / 2).rev() {
        let tmp = order[l - 1];
        sift(order, l, n, tmp);
    }
    let mut m = n;
    while m > 1 {
        let tmp = order[m - 1];
        order[m - 1] = order[0];
        m -= 1;
        sift(order, 1, m, tmp);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairwise_sum_matches_plain_sum_on_exact_values() {
        let v: Vec<f64> = (0..1000).map(f64::from).collect();
        assert_eq!(sum(&v), 499_500.0);
        assert_eq!(mean(&[1.0, 2.0, 3.0, 4.0]), 2.5);
        let squares: Vec<f64> = v.iter().map(|x| x * x).collect();
        assert_eq!(sum_of_squares(&v), sum(&squares));
    }

    #[test]
    fn rounds_halves_to_even() {
        for (x, r) in [
            (0.5, 0.0),
            (1.5, 2.0),
            (2.5, 2.0),
            (-0.5, -0.0),
            (-1.5, -2.0),
            (2.4999, 2.0),
        ] {
            assert_eq!(round(x), r, "{x}");
        }
        assert_eq!(round(1e300), 1e300);
    }

    #[test]
    fn median_like_numpy() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), 2.5);
        assert!(median(&[]).is_nan());
    }

    #[test]
    fn argsort_sorts_and_handles_many_ties() {
        let v: Vec<i64> = (0..500).map(|i| (i * 7919) % 13).collect();
        let order = argsort(&v);
        assert!(order.windows(2).all(|w| v[w[0]] <= v[w[1]]));
        let mut seen = order.clone();
        seen.sort();
        assert_eq!(seen, (0..500).collect::<Vec<_>>());
        // Small arrays are insertion sorted: stable.
        assert_eq!(argsort(&[2.0, 1.0, 2.0, 1.0]), vec![1, 3, 0, 2]);
    }

    #[test]
    fn argsort_prefix_is_argsorts_prefix() {
        // Many ties, long enough for several partitions: the prefix is placed exactly as the
        // full sort places it.
        let v: Vec<u64> = (0..2000).map(|i| (i * 7919 % 37) as u64).collect();
        let full = argsort(&v);
        for limit in [1, 5, 24, 100, 1999, 2000] {
            assert_eq!(argsort_prefix(&v, limit)[..limit], full[..limit], "{limit}");
        }
    }

    #[test]
    fn argsort_distinct_agrees_with_numpy_order() {
        let distinct: Vec<i64> = (0..300).map(|i| (i * 7919) % 300).collect();
        assert_eq!(argsort_distinct(&distinct), argsort(&distinct));
        let sorted: Vec<i64> = (0..50).collect();
        assert_eq!(
            argsort_distinct(&sorted),
            sorted.iter().map(|&i| i as usize).collect::<Vec<_>>()
        );
        // Repeated keys and NaN take numpy's own procedure.
        let ties: Vec<i64> = (0..300).map(|i| (i * 7919) % 13).collect();
        assert_eq!(argsort_distinct(&ties), argsort(&ties));
        let nan = [3.0, f64::NAN, 1.0, 2.0];
        assert_eq!(argsort_distinct(&nan), vec![2, 3, 0, 1]);
    }
}
