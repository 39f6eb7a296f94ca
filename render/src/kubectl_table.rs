//! Tables the way kubectl prints them: no borders, upper-case headers, three spaces between
//! columns, no trailing blanks; and, given a width, long cells wrapped inside their column so no
//! row runs past the terminal's edge.

use comfy_table::{Cell, ColumnConstraint, Table, presets};

use crate::Width;

/// Spaces between two columns, as kubectl prints them.
const GAP: usize = 3;

/// Which columns may wrap when the table is wider than its [`Width`], each with its share of
/// the room left by the others: a column of weight 2 gets twice the width of one of weight 1
/// when both are too long. The rest keep their content on one line (a verdict or a node name
/// broken in two reads as two values).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Wrap<'a>(pub &'a [(&'a str, u16)]);

impl Wrap<'_> {
    pub(crate) const NONE: Wrap<'static> = Wrap(&[]);

    fn weight(&self, header: &str) -> Option<u16> {
        self.0.iter().find(|(h, _)| *h == header).map(|(_, w)| *w)
    }
}

pub(crate) fn kubectl_table(
    header: &[&str],
    rows: impl IntoIterator<Item = Vec<Cell>>,
    color: bool,
    width: Width,
    wrap: Wrap<'_>,
) -> String {
    let mut t = Table::new();
    t.load_style(presets::NOTHING);
    // Never ask the terminal: the caller chose colour and width, so output does not depend on
    // where it goes (golden tests, pipes).
    t.force_no_tty();
    if color {
        t.enforce_styling();
        t.style_text_only();
    }
    let rows: Vec<Vec<Cell>> = rows.into_iter().collect();
    let natural = natural_widths(header, &rows);
    t.set_header(header.iter().copied());
    for row in rows {
        t.add_row(row);
    }
    let limits = match width {
        Width::Columns(columns) => column_limits(header, &natural, usize::from(columns), wrap),
        Width::Unlimited => vec![None; header.len()],
    };
    let last = header.len().saturating_sub(1);
    for (i, col) in t.column_iter_mut().enumerate() {
        col.set_padding((0, if i == last { 0 } else { GAP as u16 }));
        col.set_constraint(match limits.get(i).copied().flatten() {
            Some(w) => ColumnConstraint::Absolute(comfy_table::Width::Fixed(w + pad(i, last))),
            None => ColumnConstraint::ContentWidth,
        });
    }
    let mut s = String::new();
    for line in t.lines() {
        s.push_str(line.trim_end());
        s.push('\n');
    }
    s
}

fn pad(i: usize, last: usize) -> u16 {
    if i == last { 0 } else { GAP as u16 }
}

/// The widest line of each column, header included.
fn natural_widths(header: &[&str], rows: &[Vec<Cell>]) -> Vec<usize> {
    let width = |s: &str| s.lines().map(|l| l.chars().count()).max().unwrap_or(0);
    (0..header.len())
        .map(|i| {
            rows.iter()
                .filter_map(|r| r.get(i))
                .map(|c| width(&c.content()))
                .chain([width(header[i])])
                .max()
                .unwrap_or(0)
        })
        .collect()
}

/// The content width of each wrapping column that must shrink (None: its natural width), so the
/// whole table fits in `columns`. Weighted max-min fairness: a column narrower than its share
/// keeps its width and leaves the rest to the others.
fn column_limits(
    header: &[&str],
    natural: &[usize],
    columns: usize,
    wrap: Wrap<'_>,
) -> Vec<Option<u16>> {
    let gaps = GAP * header.len().saturating_sub(1);
    let fixed: usize = header
        .iter()
        .zip(natural)
        .filter(|(h, _)| wrap.weight(h).is_none())
        .map(|(_, w)| w)
        .sum();
    let mut room = columns.saturating_sub(gaps + fixed);
    let mut open: Vec<usize> = (0..header.len())
        .filter(|i| wrap.weight(header[*i]).is_some())
        .collect();
    let mut limits = vec![None; header.len()];
    if open.iter().map(|i| natural[*i]).sum::<usize>() <= room {
        return limits;
    }
    let weight = |i: usize| usize::from(wrap.weight(header[i]).unwrap_or(1).max(1));
    loop {
        let total: usize = open.iter().map(|i| weight(*i)).sum();
        let share = |i: usize| room * weight(i) / total.max(1);
        let (fits, shrink): (Vec<usize>, Vec<usize>) =
            open.iter().partition(|i| natural[**i] <= share(**i));
        if fits.is_empty() {
            let mut widths: Vec<(usize, usize)> = shrink.iter().map(|i| (*i, share(*i))).collect();
            keep_a_few_letters(&mut widths, room);
            for (i, w) in widths {
                limits[i] = Some(w as u16);
            }
            return limits;
        }
        room -= fits.iter().map(|i| natural[*i]).sum::<usize>();
        open = shrink;
    }
}

/// A column a few letters wide wraps every word into pieces: give each at least
/// [`MIN_WRAPPED`], taken from the widest, as long as the total still fits in `room`.
fn keep_a_few_letters(widths: &mut [(usize, usize)], room: usize) {
    for k in 0..widths.len() {
        while widths[k].1 < MIN_WRAPPED {
            let total: usize = widths.iter().map(|(_, w)| w).sum();
            let widest = (0..widths.len()).max_by_key(|j| widths[*j].1).unwrap_or(k);
            if total < room {
                widths[k].1 += 1;
            } else if widths[widest].1 > MIN_WRAPPED {
                widths[widest].1 -= 1;
                widths[k].1 += 1;
            } else {
                break;
            }
        }
    }
}

/// The narrowest a wrapping column is made while another is wider.
const MIN_WRAPPED: usize = 12;

/// Plain rows as a kubectl-style table (no borders, upper-case headers given by the caller,
/// three spaces between columns), for lists such as `kubectl netdiag get`. Never wrapped: like
/// `kubectl get`, one object is one line.
pub fn plain_table(header: &[&str], rows: Vec<Vec<String>>) -> String {
    kubectl_table(
        header,
        rows.into_iter()
            .map(|r| r.into_iter().map(Cell::new).collect()),
        false,
        Width::Unlimited,
        Wrap::NONE,
    )
}
