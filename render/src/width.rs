//! How wide the output may be: a terminal's width, or no limit when the output goes to a file or
//! a pipe. The decision is made once at the edge ([`stdout_width`]) and handed to the pure
//! renderers, so a rendering never depends on where it is printed.

/// The width the tables must fit in.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Width {
    /// Print full lines: output to a pipe or a file is for `grep` and `less -S`, not for eyes.
    #[default]
    Unlimited,
    /// Fit every line in this many columns, wrapping long cells inside their column.
    Columns(u16),
}

/// Narrower than this, wrapping helps nobody: the fixed columns alone do not fit.
pub const MIN_COLUMNS: u16 = 20;

impl Width {
    /// The width from `$COLUMNS` when it is set to a number (the user's or the shell's word),
    /// else the terminal's when stdout is one, else no limit.
    pub fn decide(columns_env: Option<&str>, terminal_columns: Option<u16>) -> Width {
        let from_env = columns_env
            .and_then(|c| c.trim().parse::<u16>().ok())
            .filter(|c| *c > 0);
        match from_env.or(terminal_columns.filter(|c| *c > 0)) {
            Some(c) => Width::Columns(c.max(MIN_COLUMNS)),
            None => Width::Unlimited,
        }
    }

    /// The width left after indenting by `by` columns.
    pub fn indented(self, by: u16) -> Width {
        match self {
            Width::Unlimited => Width::Unlimited,
            Width::Columns(c) => Width::Columns(c.saturating_sub(by).max(MIN_COLUMNS)),
        }
    }
}

/// The width for stdout, from the real environment: `$COLUMNS`, else the terminal's size
/// (TIOCGWINSZ, through the terminal_size crate) when stdout is a terminal.
pub fn stdout_width() -> Width {
    let terminal = terminal_size::terminal_size_of(std::io::stdout()).map(|(w, _)| w.0);
    Width::decide(std::env::var("COLUMNS").ok().as_deref(), terminal)
}

/// `text` broken at spaces into lines of at most `width` columns (a word longer than that gets
/// a line of its own). Unlimited leaves it alone.
pub fn wrap_words(text: &str, width: Width) -> Vec<String> {
    let Width::Columns(max) = width else {
        return vec![text.to_string()];
    };
    let max = usize::from(max);
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split(' ') {
        let needed = line.chars().count() + usize::from(!line.is_empty()) + word.chars().count();
        if !line.is_empty() && needed > max {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    lines.push(line);
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_wins_over_the_terminal_and_piped_output_is_unlimited() {
        assert_eq!(Width::decide(Some("100"), Some(80)), Width::Columns(100));
        assert_eq!(Width::decide(None, Some(80)), Width::Columns(80));
        assert_eq!(Width::decide(None, None), Width::Unlimited);
        // A COLUMNS that is not a width is ignored, not trusted.
        assert_eq!(Width::decide(Some("wide"), Some(120)), Width::Columns(120));
        assert_eq!(Width::decide(Some("0"), None), Width::Unlimited);
        assert_eq!(Width::decide(Some("5"), None), Width::Columns(MIN_COLUMNS));
    }

    #[test]
    fn words_wrap_at_spaces_and_long_words_stand_alone() {
        let w = wrap_words("RESULT: unreachable — nothing listens", Width::Columns(20));
        assert_eq!(w, ["RESULT: unreachable", "— nothing listens"]);
        let w = wrap_words("a averyveryverylongword b", Width::Columns(10));
        assert_eq!(w, ["a", "averyveryverylongword", "b"]);
        assert_eq!(wrap_words("x y", Width::Unlimited), ["x y"]);
    }
}
