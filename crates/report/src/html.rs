//! Text made safe for HTML, and numbers written for people.

/// `text` with the characters HTML gives a meaning to escaped, for element content and
/// quoted attribute values alike.
pub fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// `x` to `digits` significant digits: plain notation from 10⁻³ to 10⁶, scientific outside;
/// a dash for a number that is not finite.
pub fn num(x: f64, digits: usize) -> String {
    if !x.is_finite() {
        return "–".to_string();
    }
    if x == 0.0 {
        return "0".to_string();
    }
    let magnitude = x.abs().log10().floor() as i32;
    if !(-3..6).contains(&magnitude) {
        return format!("{:.*e}", digits.saturating_sub(1), x);
    }
    let decimals = (digits as i32 - 1 - magnitude).max(0) as usize;
    let text = format!("{x:.decimals$}");
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        text
    }
}

/// A count with thousands separated: `1,000,000`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A share in [0, 1] as a percentage with one decimal.
pub fn percent(share: f64) -> String {
    if share.is_finite() {
        format!("{:.1}%", share * 100.0)
    } else {
        "–".to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_and_quotes_are_escaped() {
        assert_eq!(
            esc(r#"<script>alert("x") & 'y'</script>"#),
            "&lt;script&gt;alert(&quot;x&quot;) &amp; &#39;y&#39;&lt;/script&gt;"
        );
    }

    #[test]
    fn numbers_keep_their_significant_digits() {
        assert_eq!(num(10.450_583, 5), "10.451");
        assert_eq!(num(0.012_345_67, 3), "0.0123");
        assert_eq!(num(1_234_567.0, 3), "1.23e6");
        assert_eq!(num(-2.0, 4), "-2");
        assert_eq!(num(f64::NAN, 4), "–");
        assert_eq!(percent(0.6612), "66.1%");
        assert_eq!(
            (
                thousands(0),
                thousands(999),
                thousands(1000),
                thousands(1_234_567)
            ),
            ("0".into(), "999".into(), "1,000".into(), "1,234,567".into())
        );
    }
}
