//! Shell-like splitting of one iptables rule line, the way `iptables-restore` reads it.
//!
//! `iptables-save` and `iptables -S` quote an argument with `"` when it holds anything beyond
//! `[A-Za-z0-9_-]` and escape `"`, `\` and `'` inside with a backslash (`xtables_save_string`).
//! Comments therefore arrive as `--comment "default/echo:http -> 10.244.1.5:8080"`.

/// Split `line` into arguments: whitespace separates, `"..."` and `'...'` group, a backslash
/// escapes the next character. An unterminated quote ends at the end of the line: dumps may be
/// truncated or hostile, and a best-effort split beats an error here.
pub fn split(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    // Whether `cur` is a token even when empty (`""` is an empty argument, not nothing).
    let mut started = false;
    let mut quote: Option<char> = None;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (_, '\\') => {
                started = true;
                if let Some(next) = chars.next() {
                    cur.push(next);
                }
            }
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => cur.push(c),
            (None, '"' | '\'') => {
                started = true;
                quote = Some(c);
            }
            (None, c) if c.is_whitespace() => {
                if started {
                    out.push(std::mem::take(&mut cur));
                    started = false;
                }
            }
            (None, c) => {
                started = true;
                cur.push(c);
            }
        }
    }
    if started {
        out.push(cur);
    }
    out
}

/// Quote `value` the way `iptables-save` does, so generated rules read back byte for byte.
pub fn quote(value: &str) -> String {
    let plain = !value.is_empty()
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if plain {
        return value.to_string();
    }
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        if matches!(c, '"' | '\\' | '\'') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_on_whitespace_and_keeps_quoted_comments_whole() {
        let t = split(r#"-A X -m comment --comment "default/echo:http -> 10.244.1.5:8080" -j Y"#);
        assert_eq!(
            t,
            [
                "-A",
                "X",
                "-m",
                "comment",
                "--comment",
                "default/echo:http -> 10.244.1.5:8080",
                "-j",
                "Y"
            ]
        );
    }

    #[test]
    fn unescapes_quotes_and_backslashes_inside_a_comment() {
        let t = split(r#"--comment "a \"q\" \\ b \' c""#);
        assert_eq!(t, ["--comment", r#"a "q" \ b ' c"#]);
    }

    #[test]
    fn an_empty_quoted_argument_is_kept() {
        assert_eq!(split(r#"--comment "" -j X"#), ["--comment", "", "-j", "X"]);
    }

    #[test]
    fn an_unterminated_quote_runs_to_the_end_of_the_line() {
        assert_eq!(split(r#"--comment "abc def"#), ["--comment", "abc def"]);
    }

    #[test]
    fn quote_round_trips_through_split() {
        for v in ["plain-NAME_1", "default/echo:http", r#"a "b" \c 'd'"#, ""] {
            let q = quote(v);
            assert_eq!(split(&q), [v], "quoted as {q}");
        }
        assert_eq!(quote("KUBE-SEP-X"), "KUBE-SEP-X");
        assert_eq!(quote("default/echo:http"), "\"default/echo:http\"");
    }
}
