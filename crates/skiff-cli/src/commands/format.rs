//! Output helpers shared by the verbs: docker's `--format` Go templates (the subset scripts
//! use: `{{.Field}}`, `{{.A.B}}`, `{{json .X}}`, `{{json .}}`, `table`, `\t`), aligned tables
//! as docker's tabwriter prints them, and human sizes.

use serde_json::Value;

/// Renders `template` against `value` (an object with docker's field names).
pub fn render(template: &str, value: &Value) -> String {
    let template = template.replace("\\t", "\t").replace("\\n", "\n");
    let mut out = String::new();
    let mut rest = template.as_str();
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let Some(end) = rest[start..].find("}}") else {
            out.push_str(&rest[start..]);
            return out;
        };
        let action = rest[start + 2..start + end].trim();
        out.push_str(&eval(action, value));
        rest = &rest[start + end + 2..];
    }
    out.push_str(rest);
    out
}

fn eval(action: &str, value: &Value) -> String {
    if let Some(arg) = action.strip_prefix("json ") {
        return serde_json::to_string(&lookup(arg.trim(), value)).unwrap_or_default();
    }
    if let Some(arg) = action.strip_prefix("upper ") {
        return eval(arg.trim(), value).to_uppercase();
    }
    if let Some(arg) = action.strip_prefix("lower ") {
        return eval(arg.trim(), value).to_lowercase();
    }
    if let Some(rest) = action.strip_prefix(".Label ") {
        let key = rest.trim().trim_matches('"');
        return value
            .pointer(&format!("/LabelMap/{key}"))
            .map(plain)
            .unwrap_or_default();
    }
    if let Some(rest) = action.strip_prefix("index ") {
        let mut parts = rest.split_whitespace();
        let (Some(obj), Some(key)) = (parts.next(), parts.next()) else {
            return String::new();
        };
        return lookup(obj, value)
            .get(key.trim_matches('"'))
            .map(plain)
            .unwrap_or_default();
    }
    plain(&lookup(action, value))
}

fn lookup(path: &str, value: &Value) -> Value {
    if path == "." {
        return value.clone();
    }
    let mut v = value;
    for part in path.trim_start_matches('.').split('.') {
        match v.get(part) {
            Some(next) => v = next,
            None => return Value::Null,
        }
    }
    v.clone()
}

/// How Go's template prints a value: strings raw, null as "<no value>", the rest as JSON.
fn plain(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "<no value>".into(),
        Value::Array(items) => format!(
            "[{}]",
            items.iter().map(plain).collect::<Vec<_>>().join(" ")
        ),
        Value::Object(map) => {
            format!(
                "map[{}]",
                map.iter()
                    .map(|(k, v)| format!("{k}:{}", plain(v)))
                    .collect::<Vec<_>>()
                    .join(" ")
            )
        }
        other => other.to_string(),
    }
}

/// Prints rows as docker's tabwriter does (minimum width 10, padding 3); the last column
/// is not padded.
pub fn print_table(rows: &[Vec<String>]) {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let mut widths = vec![0usize; columns];
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            widths[i] = widths[i].max(cell.chars().count() + 3).max(10);
        }
    }
    let mut out = String::new();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            out.push_str(cell);
            if i + 1 < row.len() {
                out.push_str(&" ".repeat(widths[i] - cell.chars().count()));
            }
        }
        out.push('\n');
    }
    print!("{out}");
}

/// Docker's `units.HumanSizeWithPrecision(size, 3)`: "1.5kB", "23.4MB" (decimal units).
pub fn human_size(bytes: f64) -> String {
    let units = ["B", "kB", "MB", "GB", "TB", "PB"];
    let mut size = bytes;
    let mut unit = 0;
    while size >= 1000.0 && unit + 1 < units.len() {
        size /= 1000.0;
        unit += 1;
    }
    format!("{}{}", trim_float(size), units[unit])
}

/// Docker's `units.BytesSize`: binary units ("1.5KiB", "64MiB").
pub fn bytes_size(bytes: f64) -> String {
    let units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    let mut size = bytes;
    let mut unit = 0;
    while size >= 1024.0 && unit + 1 < units.len() {
        size /= 1024.0;
        unit += 1;
    }
    format!("{}{}", trim_float(size), units[unit])
}

/// Three significant digits, as Go's %.3g prints them.
fn trim_float(v: f64) -> String {
    if v == 0.0 {
        return "0".into();
    }
    let digits = 3 - 1 - v.abs().log10().floor() as i32;
    let s = format!("{:.*}", digits.max(0) as usize, v);
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

/// Docker's `RAMInBytes`: "64m", "1g", "512k", "100b", "1024" (binary units).
pub fn parse_bytes(text: &str) -> anyhow::Result<i64> {
    let t = text.trim().to_ascii_lowercase();
    let digits = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(digits);
    let value: f64 = num.parse().map_err(|_| {
        anyhow::anyhow!("invalid size: {text:?}; use a number with an optional unit (b, k, m, g)")
    })?;
    let mult: f64 = match unit.trim_end_matches('b').trim_end_matches('i') {
        "" => 1.0,
        "k" => 1024.0,
        "m" => 1024.0 * 1024.0,
        "g" => 1024.0 * 1024.0 * 1024.0,
        "t" => 1024f64.powi(4),
        _ => {
            anyhow::bail!("invalid size: {text:?}; use a number with an optional unit (b, k, m, g)")
        }
    };
    Ok((value * mult) as i64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn templates_pick_fields() {
        let v = json!({"ID": "abc", "Names": "web", "State": {"ExitCode": 3}});
        assert_eq!(render("{{.ID}}\\t{{.Names}}", &v), "abc\tweb");
        assert_eq!(render("{{.State.ExitCode}}", &v), "3");
        assert_eq!(render("{{json .State}}", &v), "{\"ExitCode\":3}");
    }

    #[test]
    fn sizes_like_docker() {
        assert_eq!(parse_bytes("64m").unwrap(), 64 << 20);
        assert_eq!(parse_bytes("1g").unwrap(), 1 << 30);
        assert_eq!(parse_bytes("100").unwrap(), 100);
        assert!(parse_bytes("lots").is_err());
        assert_eq!(human_size(1_500.0), "1.5kB");
        assert_eq!(bytes_size(64.0 * 1024.0 * 1024.0), "64MiB");
    }
}
