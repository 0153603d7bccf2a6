//! The statistics against numpy, scipy and statsmodels (`fixtures.json`, written by
//! `make_fixtures.py`), and their properties.

use super::special::{t_quantile, t_two_sided};
use super::*;
use proptest::prelude::*;
use serde_json::Value;

fn fixtures() -> Value {
    serde_json::from_str(include_str!("fixtures.json")).expect("fixtures.json parses")
}

fn floats(v: &Value) -> Vec<f64> {
    v.as_array()
        .expect("an array")
        .iter()
        .map(|x| x.as_f64().expect("a number"))
        .collect()
}

fn num(v: &Value, key: &str) -> f64 {
    v[key]
        .as_f64()
        .unwrap_or_else(|| panic!("{key} is a number"))
}

/// Absolute tolerance, for coefficients, slopes and their errors.
fn close_abs(what: &str, got: f64, want: f64) {
    assert!(
        (got - want).abs() <= 1e-9,
        "{what}: got {got:e}, scipy says {want:e}"
    );
}

/// Relative tolerance, for p- and q-values (which span many orders of magnitude).
fn close_rel(what: &str, got: f64, want: f64) {
    let ok = if want == 0.0 {
        got.abs() < 1e-300
    } else {
        ((got - want) / want).abs() <= 1e-6
    };
    assert!(ok, "{what}: got {got:e}, scipy says {want:e}");
}

#[test]
fn describe_matches_numpy_and_scipy() {
    for case in fixtures()["describe"].as_array().unwrap() {
        let values = floats(&case["values"]);
        let label = format!("{:?}", &values[..values.len().min(4)]);
        close_abs(
            &format!("mean {label}"),
            mean(&values).unwrap(),
            num(case, "mean"),
        );
        close_abs(
            &format!("median {label}"),
            median(&values).unwrap(),
            num(case, "median"),
        );
        let got = percentiles(&values, &floats(&case["qs"])).unwrap();
        for (g, w) in got.iter().zip(floats(&case["percentiles"])) {
            close_abs(&format!("percentile {label}"), *g, w);
        }
        close_abs(
            &format!("mad {label}"),
            mad_normal(&values).unwrap(),
            num(case, "mad_normal"),
        );
        let zs = robust_z(&values);
        for (got, want) in zs.iter().zip(case["robust_z"].as_array().unwrap()) {
            match (got, want.as_f64()) {
                (Some(g), Some(w)) => close_abs(&format!("robust z {label}"), *g, w),
                (None, None) => {}
                other => panic!("robust z {label}: {other:?}"),
            }
        }
        assert_eq!(ranks(&values), floats(&case["ranks"]), "ranks {label}");
        for (score, want) in floats(&case["scores"])
            .iter()
            .zip(floats(&case["percentile_ranks"]))
        {
            close_abs(
                &format!("percentile rank of {score} {label}"),
                percentile_rank(&values, *score).unwrap(),
                want,
            );
        }
    }
}

#[test]
fn the_planted_outlier_is_flagged_and_nothing_else() {
    let case = &fixtures()["describe"][3];
    let values = floats(&case["values"]);
    let flagged: Vec<f64> = values
        .iter()
        .zip(robust_z(&values))
        .filter(|(_, z)| z.is_some_and(|z| z.abs() > OUTLIER_Z))
        .map(|(v, _)| *v)
        .collect();
    assert_eq!(flagged, vec![42000.0]);
}

#[test]
fn linregress_matches_scipy() {
    for case in fixtures()["regressions"].as_array().unwrap() {
        let got = linregress(&floats(&case["x"]), &floats(&case["y"])).unwrap();
        let label = format!("n={}", got.n);
        close_abs(&format!("slope {label}"), got.slope, num(case, "slope"));
        close_abs(
            &format!("intercept {label}"),
            got.intercept,
            num(case, "intercept"),
        );
        close_abs(&format!("r {label}"), got.r, num(case, "r"));
        close_abs(&format!("stderr {label}"), got.stderr, num(case, "stderr"));
        close_abs(
            &format!("intercept stderr {label}"),
            got.intercept_stderr,
            num(case, "intercept_stderr"),
        );
        close_abs(&format!("ci low {label}"), got.ci_low, num(case, "ci_low"));
        close_abs(
            &format!("ci high {label}"),
            got.ci_high,
            num(case, "ci_high"),
        );
        close_rel(&format!("p {label}"), got.p, num(case, "p"));
    }
}

#[test]
fn pair_tests_match_scipy_and_statsmodels() {
    for case in fixtures()["pairs"].as_array().unwrap() {
        let (a, b) = (floats(&case["a"]), floats(&case["b"]));
        let got = pair_test(&a, &b).unwrap();
        let label = format!("n={}", got.n);
        close_abs(
            &format!("pearson r {label}"),
            got.pearson.r,
            num(case, "pearson_r"),
        );
        close_rel(
            &format!("pearson p {label}"),
            got.pearson.p,
            num(case, "pearson_p"),
        );
        close_abs(
            &format!("spearman r {label}"),
            got.spearman.r,
            num(case, "spearman_r"),
        );
        close_rel(
            &format!("spearman p {label}"),
            got.spearman.p,
            num(case, "spearman_p"),
        );
        close_abs(&format!("acf a {label}"), got.acf_a, num(case, "acf_a"));
        close_abs(&format!("acf b {label}"), got.acf_b, num(case, "acf_b"));
        close_abs(&format!("n_eff {label}"), got.n_eff, num(case, "n_eff"));
        close_rel(&format!("p_adj {label}"), got.p_adj, num(case, "p_adj"));
    }
}

#[test]
fn benjamini_hochberg_matches_statsmodels() {
    for case in fixtures()["bh"].as_array().unwrap() {
        let got = benjamini_hochberg(&floats(&case["p"]));
        for (g, w) in got.iter().zip(floats(&case["q"])) {
            close_rel("q", *g, w);
        }
    }
}

#[test]
fn student_t_matches_scipy() {
    let all = fixtures();
    for case in all["special"]["t_two_sided"].as_array().unwrap() {
        let (t, df) = (num(case, "t"), num(case, "df"));
        close_rel(
            &format!("t={t} df={df}"),
            t_two_sided(t, df),
            num(case, "p"),
        );
    }
    for case in all["special"]["t_quantile"].as_array().unwrap() {
        let (p, df) = (num(case, "p"), num(case, "df"));
        let got = t_quantile(p, df);
        let want = num(case, "t");
        assert!(
            ((got - want) / want).abs() < 1e-10,
            "t quantile p={p} df={df}: {got} vs {want}"
        );
    }
}

#[test]
fn undefined_cases_are_none_not_nan() {
    assert_eq!(mean(&[]), None);
    assert_eq!(pearson(&[1.0, 2.0], &[3.0, 4.0]), None);
    assert_eq!(pearson(&[1.0, 1.0, 1.0], &[3.0, 4.0, 5.0]), None);
    assert_eq!(linregress(&[2.0, 2.0, 2.0], &[1.0, 2.0, 3.0]), None);
    assert_eq!(lag1_autocorrelation(&[4.0, 4.0, 4.0]), None);
    assert_eq!(robust_z(&[1.0, 1.0, 1.0, 9.0]), vec![None; 4]);
    assert!(benjamini_hochberg(&[f64::NAN, 0.01])[0].is_nan());
}

fn series() -> impl Strategy<Value = (Vec<f64>, Vec<f64>)> {
    (5usize..60).prop_flat_map(|n| {
        (
            prop::collection::vec(-1e3f64..1e3, n),
            prop::collection::vec(-1e3f64..1e3, n),
        )
    })
}

proptest! {
    #[test]
    fn correlation_is_symmetric_and_bounded((a, b) in series()) {
        if let (Some(ab), Some(ba)) = (pair_test(&a, &b), pair_test(&b, &a)) {
            prop_assert!((ab.pearson.r - ba.pearson.r).abs() < 1e-12);
            prop_assert!((ab.spearman.r - ba.spearman.r).abs() < 1e-12);
            prop_assert!((ab.p_adj - ba.p_adj).abs() < 1e-9);
            prop_assert!((-1.0..=1.0).contains(&ab.pearson.r));
            prop_assert!((0.0..=1.0).contains(&ab.pearson.p));
            prop_assert!((0.0..=1.0).contains(&ab.p_adj));
            prop_assert!(ab.n_eff >= 3.0 && ab.n_eff <= ab.n as f64);
        }
    }

    #[test]
    fn correlation_ignores_shift_and_positive_scale(
        (a, b) in series(), shift in -1e3f64..1e3, scale in 0.01f64..100.0,
    ) {
        let moved: Vec<f64> = a.iter().map(|v| v * scale + shift).collect();
        if let (Some(before), Some(after)) = (pearson(&a, &b), pearson(&moved, &b)) {
            prop_assert!((before.r - after.r).abs() < 1e-9);
        }
        if let (Some(before), Some(after)) = (spearman(&a, &b), spearman(&moved, &b)) {
            prop_assert!((before.r - after.r).abs() < 1e-12);
        }
    }

    #[test]
    fn correlation_ignores_the_order_of_pairs((a, b) in series(), seed in any::<u64>()) {
        // Shuffle the pairs together (the coefficients, not the autocorrelation, are
        // order-free).
        let mut order: Vec<usize> = (0..a.len()).collect();
        let mut s = seed | 1;
        for i in (1..order.len()).rev() {
            s ^= s << 13; s ^= s >> 7; s ^= s << 17;
            order.swap(i, (s % (i as u64 + 1)) as usize);
        }
        let a2: Vec<f64> = order.iter().map(|&i| a[i]).collect();
        let b2: Vec<f64> = order.iter().map(|&i| b[i]).collect();
        if let (Some(x), Some(y)) = (pearson(&a, &b), pearson(&a2, &b2)) {
            prop_assert!((x.r - y.r).abs() < 1e-9);
        }
        if let (Some(x), Some(y)) = (spearman(&a, &b), spearman(&a2, &b2)) {
            prop_assert!((x.r - y.r).abs() < 1e-12);
        }
        let (mut sa, mut sa2) = (a.clone(), a2.clone());
        sa.sort_by(f64::total_cmp);
        sa2.sort_by(f64::total_cmp);
        prop_assert_eq!(percentiles(&a, &[10.0, 50.0, 90.0]), percentiles(&a2, &[10.0, 50.0, 90.0]));
    }

    #[test]
    fn slope_scales_with_y_and_its_interval_holds_it((a, b) in series(), scale in 0.1f64..10.0) {
        let x: Vec<f64> = (0..a.len()).map(|i| i as f64).collect();
        let scaled: Vec<f64> = b.iter().map(|v| v * scale).collect();
        if let (Some(one), Some(two)) = (linregress(&x, &b), linregress(&x, &scaled)) {
            prop_assert!((one.slope * scale - two.slope).abs() < 1e-9 * (1.0 + two.slope.abs()));
            prop_assert!(one.ci_low <= one.slope && one.slope <= one.ci_high);
        }
    }

    #[test]
    fn q_values_are_at_least_the_p_values_and_keep_their_order(
        p in prop::collection::vec(0.0f64..=1.0, 1..50),
    ) {
        let q = benjamini_hochberg(&p);
        for i in 0..p.len() {
            prop_assert!(q[i] >= p[i] - 1e-15 && q[i] <= 1.0);
            for j in 0..p.len() {
                if p[i] < p[j] {
                    prop_assert!(q[i] <= q[j]);
                }
            }
        }
    }
}
