//! The one way commands print tables: comfy-table, widths measured in terminal columns
//! (unicode-width: a Chinese character takes two), plain text with no borders, one rule of
//! dashes under the header as wide as the table, two spaces between columns, numbers right-aligned, no wrapping.

use comfy_table::{
    CellAlignment, ContentArrangement, ContentLineStyle, LineStyle, Table, TableStyle,
};
use unicode_width::UnicodeWidthStr;

const PLAIN: TableStyle = TableStyle::new()
    .header_lines(ContentLineStyle::none().junction(' '))
    .header_separator(LineStyle::none().fill('-').junction('-'))
    .content_lines(ContentLineStyle::none().junction(' '));

/// A plain text table; `right_aligned[i]` right-aligns column `i` (missing: left).
pub struct TextTable {
    table: Table,
}

impl TextTable {
    pub fn new(headers: &[&str], right_aligned: &[bool]) -> TextTable {
        let mut table = Table::new();
        table
            .load_style(PLAIN)
            .set_content_arrangement(ContentArrangement::Disabled)
            .set_header(headers.to_vec());
        let last = headers.len().saturating_sub(1);
        for i in 0..headers.len() {
            if let Some(column) = table.column_mut(i) {
                // One space of padding plus the junction make the two-space gap; the last
                // column needs none, or the rule would run past the widest row.
                column.set_padding((0, u16::from(i < last)));
                column.set_cell_alignment(if right_aligned.get(i).copied().unwrap_or(false) {
                    CellAlignment::Right
                } else {
                    CellAlignment::Left
                });
            }
        }
        TextTable { table }
    }

    pub fn row(&mut self, cells: Vec<String>) {
        self.table.add_row(cells);
    }

    pub fn is_empty(&self) -> bool {
        self.table.is_empty()
    }

    /// The table, each line indented by `indent` and without trailing spaces, each ending in
    /// a newline.
    pub fn render(&self, indent: &str) -> String {
        let mut out = String::new();
        for line in self.table.lines() {
            out.push_str(indent);
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out
    }
}

/// Columns `s` takes on a terminal: East Asian wide and fullwidth characters count 2,
/// combining marks and zero-width characters 0.
pub fn display_width(s: &str) -> usize {
    s.width()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn widths() {
        assert_eq!(display_width("abc"), 3);
        assert_eq!(display_width("模型甲"), 6);
        assert_eq!(display_width("Qwen 通义"), 9);
        assert_eq!(display_width("ｆｕｌｌ"), 8);
        assert_eq!(display_width("e\u{301}"), 1);
        assert_eq!(display_width("한국"), 4);
        assert_eq!(display_width("〇"), 2);
        assert_eq!(display_width("—–"), 2);
        assert_eq!(display_width("🙂"), 2);
    }

    #[test]
    fn aligns_chinese_by_display_width() {
        let mut t = TextTable::new(&["name", "n"], &[false, true]);
        t.row(vec!["模型甲".into(), "5".into()]);
        t.row(vec!["abc".into(), "123".into()]);
        let out = t.render("  ");
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(
            lines,
            [
                "  name      n",
                "  -----------",
                "  模型甲    5",
                "  abc     123"
            ],
            "{out}"
        );
        assert!(!t.is_empty());
        assert!(TextTable::new(&["a"], &[]).is_empty());
    }
}
