//! `cargo xtask bench --verify out.json`: the CI gate on a JSON report. It checks the
//! schema (every key of [`super::report`]'s document, with the right JSON types) and
//! that there is at least one row and every row's `check` is `"pass"`.

use serde_json::Value;

const MACHINE_KEYS: [&str; 6] =
    ["cpu", "cores", "measured_peak_gbs", "theoretical_peak_gbs", "fma_peak_gflops", "gpu"];
const ROW_KEYS: [&str; 13] = [
    "workload",
    "variant",
    "backend",
    "threads",
    "size",
    "seconds",
    "throughput",
    "unit",
    "bytes_per_s",
    "pct_measured_peak",
    "pct_theoretical_peak",
    "pct_fma_peak",
    "check",
];

fn kind_ok(key: &str, v: &Value) -> bool {
    match key {
        "cpu" | "workload" | "variant" | "backend" | "size" | "unit" => v.is_string(),
        "gpu" => v.is_string() || v.is_null(),
        "cores" | "threads" => v.is_u64(),
        "measured_peak_gbs" | "fma_peak_gflops" | "seconds" | "throughput" => v.is_number(),
        "check" => v == "pass" || v == "fail",
        _ => v.is_number() || v.is_null(),
    }
}

fn keys_ok(what: &str, obj: &Value, keys: &[&str]) -> Result<(), String> {
    let map = obj.as_object().ok_or_else(|| format!("{what} is not an object"))?;
    for k in keys {
        let v = map.get(*k).ok_or_else(|| format!("{what} lacks `{k}`"))?;
        if !kind_ok(k, v) {
            return Err(format!("{what}: `{k}` has the wrong type: {v}"));
        }
    }
    if let Some(extra) = map.keys().find(|k| !keys.contains(&k.as_str())) {
        return Err(format!("{what} has an unknown key `{extra}`"));
    }
    Ok(())
}

/// Checks a report's text. `Ok(rows)` when every row passed.
pub fn verify_str(text: &str) -> Result<usize, String> {
    let doc: Value = serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
    keys_ok("machine", doc.get("machine").unwrap_or(&Value::Null), &MACHINE_KEYS)?;
    let rows = doc.get("results").and_then(Value::as_array).ok_or("`results` is not an array")?;
    if rows.is_empty() {
        return Err("`results` is empty: no workload ran".into());
    }
    let mut failed = Vec::new();
    for (i, r) in rows.iter().enumerate() {
        keys_ok(&format!("results[{i}]"), r, &ROW_KEYS)?;
        if r["check"] != "pass" {
            failed.push(format!("{} {} on {} ({})", r["workload"], r["variant"], r["backend"], r["size"]));
        }
    }
    if failed.is_empty() {
        Ok(rows.len())
    } else {
        Err(format!("{} of {} rows failed their check:\n  {}", failed.len(), rows.len(), failed.join("\n  ")))
    }
}

/// Checks the report at `path`.
pub fn verify_file(path: &std::path::Path) -> Result<usize, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    verify_str(&text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(check: &str) -> String {
        format!(
            r#"{{"machine": {{"cpu": "x", "cores": 2, "measured_peak_gbs": 20.5, "theoretical_peak_gbs": null,
            "fma_peak_gflops": 300.0, "gpu": null}},
            "results": [{{"workload": "W1", "variant": "pi", "backend": "scalar", "threads": 1,
            "size": "N=1", "seconds": 0.1, "throughput": 1e9, "unit": "pairs/s", "bytes_per_s": null,
            "pct_measured_peak": null, "pct_theoretical_peak": null, "pct_fma_peak": 1.5,
            "check": "{check}"}}]}}"#
        )
    }

    #[test]
    fn passing_report_is_accepted() {
        assert_eq!(verify_str(&doc("pass")), Ok(1));
    }

    #[test]
    fn failed_row_missing_key_and_empty_results_are_rejected() {
        let e = verify_str(&doc("fail")).unwrap_err();
        assert!(e.contains("1 of 1 rows failed"), "{e}");
        assert!(verify_str(&doc("maybe")).unwrap_err().contains("wrong type"));
        let no_unit = doc("pass").replace(r#""unit": "pairs/s", "#, "");
        assert!(verify_str(&no_unit).unwrap_err().contains("lacks `unit`"));
        let extra = doc("pass").replace(r#""gpu": null"#, r#""gpu": null, "ram": 1"#);
        assert!(verify_str(&extra).unwrap_err().contains("unknown key `ram`"));
        let empty = r#"{"machine": {"cpu": "x", "cores": 2, "measured_peak_gbs": 1, "theoretical_peak_gbs": 2,
            "fma_peak_gflops": 3, "gpu": "H100"}, "results": []}"#;
        assert!(verify_str(empty).unwrap_err().contains("empty"));
        assert!(verify_str("{").unwrap_err().contains("not JSON"));
    }
}
