//! A page's text as positioned runs, then as lines of cells: the content stream is walked with
//! the graphics and text state that place text (`cm`, `q`/`Q`, `BT`, `Tf`, `Tc`, `Tw`, `Tz`,
//! `TL`, `Ts`, `Td`, `TD`, `Tm`, `T*`, `Tj`, `TJ`, `'`, `"`), so each shown string gets its start
//! and end on the page; strings on one baseline form a line, and a gap wider than an em starts
//! a new cell.

use crate::fonts::Font;
use lopdf::content::Content;
use lopdf::{Document, Object, ObjectId};
use std::collections::BTreeMap;

/// An affine transform `[a b c d e f]` in PDF's row-vector convention.
type Matrix = [f32; 6];

const IDENTITY: Matrix = [1.0, 0.0, 0.0, 1.0, 0.0, 0.0];

/// `m1 × m2`.
fn mul(m1: &Matrix, m2: &Matrix) -> Matrix {
    [
        m1[0] * m2[0] + m1[1] * m2[2],
        m1[0] * m2[1] + m1[1] * m2[3],
        m1[2] * m2[0] + m1[3] * m2[2],
        m1[2] * m2[1] + m1[3] * m2[3],
        m1[4] * m2[0] + m1[5] * m2[2] + m2[4],
        m1[4] * m2[1] + m1[5] * m2[3] + m2[5],
    ]
}

fn translate(tx: f32, ty: f32) -> Matrix {
    [1.0, 0.0, 0.0, 1.0, tx, ty]
}

fn apply(m: &Matrix, x: f32, y: f32) -> (f32, f32) {
    (m[0] * x + m[2] * y + m[4], m[1] * x + m[3] * y + m[5])
}

/// One shown string, placed on the page (user space, y up).
#[derive(Debug, Clone)]
struct Run {
    x0: f32,
    x1: f32,
    y: f32,
    size: f32,
    text: String,
}

/// A piece of a line: text between gaps wider than an em.
#[derive(Debug, Clone)]
pub struct Cell {
    /// Where it starts and ends on the page.
    pub x0: f32,
    pub x1: f32,
    /// Its text.
    pub text: String,
}

/// One line of a page, top to bottom.
#[derive(Debug, Clone)]
pub struct Line {
    /// Its cells, left to right.
    pub cells: Vec<Cell>,
}

impl Line {
    /// The line as text, cells two spaces apart.
    pub fn text(&self) -> String {
        let parts: Vec<&str> = self.cells.iter().map(|c| c.text.as_str()).collect();
        parts.join("  ")
    }
}

/// The text state of the content stream walk.
struct State<'a> {
    ctm: Matrix,
    stack: Vec<Matrix>,
    tm: Matrix,
    tlm: Matrix,
    font: Option<&'a Font<'a>>,
    size: f32,
    char_space: f32,
    word_space: f32,
    scale: f32,
    leading: f32,
    rise: f32,
    runs: Vec<Run>,
}

fn num(o: &Object) -> f32 {
    match o {
        Object::Integer(i) => *i as f32,
        Object::Real(r) => *r,
        _ => 0.0,
    }
}

fn nums<const N: usize>(ops: &[Object]) -> Option<[f32; N]> {
    (ops.len() >= N).then(|| std::array::from_fn(|i| num(&ops[ops.len() - N + i])))
}

impl<'a> State<'a> {
    fn new() -> State<'a> {
        State {
            ctm: IDENTITY,
            stack: Vec::new(),
            tm: IDENTITY,
            tlm: IDENTITY,
            font: None,
            size: 0.0,
            char_space: 0.0,
            word_space: 0.0,
            scale: 1.0,
            leading: 0.0,
            rise: 0.0,
            runs: Vec::new(),
        }
    }

    fn move_line(&mut self, tx: f32, ty: f32) {
        self.tlm = mul(&translate(tx, ty), &self.tlm);
        self.tm = self.tlm;
    }

    /// Shows one string: records where it lands and advances the text matrix past it.
    fn show(&mut self, bytes: &[u8]) {
        let Some(font) = self.font else { return };
        let start = mul(&self.tm, &self.ctm);
        let (x0, y) = apply(&start, 0.0, self.rise);
        let mut advance = 0.0;
        for (code, w) in font.widths(bytes) {
            let word = if code == 32 { self.word_space } else { 0.0 };
            advance += (w / 1000.0 * self.size + self.char_space + word) * self.scale;
        }
        self.tm = mul(&translate(advance, 0.0), &self.tm);
        let (x1, _) = apply(&mul(&self.tm, &self.ctm), 0.0, self.rise);
        let size = self.size * start[2].hypot(start[3]);
        let text = font.decode(bytes);
        if !text.trim().is_empty() {
            self.runs.push(Run {
                x0: x0.min(x1),
                x1: x0.max(x1),
                y,
                size: size.abs().max(1.0),
                text,
            });
        }
    }

    fn show_array(&mut self, items: &[Object]) {
        for item in items {
            match item {
                Object::String(bytes, _) => self.show(bytes),
                other => {
                    let tx = -num(other) / 1000.0 * self.size * self.scale;
                    self.tm = mul(&translate(tx, 0.0), &self.tm);
                }
            }
        }
    }

    /// Applies one operation.
    fn op(&mut self, operator: &str, ops: &[Object], fonts: &'a BTreeMap<Vec<u8>, Font<'a>>) {
        match operator {
            "q" => self.stack.push(self.ctm),
            "Q" => self.ctm = self.stack.pop().unwrap_or(IDENTITY),
            "cm" => {
                if let Some(m) = nums::<6>(ops) {
                    self.ctm = mul(&m, &self.ctm);
                }
            }
            "BT" => {
                self.tm = IDENTITY;
                self.tlm = IDENTITY;
            }
            "Tf" => {
                self.font = ops
                    .first()
                    .and_then(|o| o.as_name().ok())
                    .and_then(|n| fonts.get(n));
                self.size = ops.get(1).map(num).unwrap_or(0.0);
            }
            "Tc" => self.char_space = ops.first().map(num).unwrap_or(0.0),
            "Tw" => self.word_space = ops.first().map(num).unwrap_or(0.0),
            "Tz" => self.scale = ops.first().map(num).unwrap_or(100.0) / 100.0,
            "TL" => self.leading = ops.first().map(num).unwrap_or(0.0),
            "Ts" => self.rise = ops.first().map(num).unwrap_or(0.0),
            "Td" | "TD" => {
                if let Some([tx, ty]) = nums::<2>(ops) {
                    if operator == "TD" {
                        self.leading = -ty;
                    }
                    self.move_line(tx, ty);
                }
            }
            "Tm" => {
                if let Some(m) = nums::<6>(ops) {
                    self.tm = m;
                    self.tlm = m;
                }
            }
            "T*" => self.move_line(0.0, -self.leading),
            "Tj" | "'" | "\"" => {
                if operator != "Tj" {
                    if operator == "\"" {
                        if let Some([aw, ac]) = nums::<2>(&ops[..ops.len().saturating_sub(1)]) {
                            self.word_space = aw;
                            self.char_space = ac;
                        }
                    }
                    self.move_line(0.0, -self.leading);
                }
                if let Some(Object::String(bytes, _)) = ops.last() {
                    self.show(bytes);
                }
            }
            "TJ" => {
                if let Some(Object::Array(items)) = ops.first() {
                    self.show_array(items);
                }
            }
            _ => {}
        }
    }
}

/// The lines of one page, top to bottom.
pub fn page_lines(doc: &Document, page: ObjectId) -> Result<Vec<Line>, String> {
    let dicts = doc
        .get_page_fonts(page)
        .map_err(|e| format!("the page's fonts: {e}"))?;
    let fonts: BTreeMap<Vec<u8>, Font> = dicts
        .into_iter()
        .map(|(name, dict)| (name, Font::new(doc, dict)))
        .collect();
    let data = doc
        .get_page_content(page)
        .map_err(|e| format!("the page's content: {e}"))?;
    let content = Content::decode(&data).map_err(|e| format!("the page's content: {e}"))?;
    let mut state = State::new();
    for op in &content.operations {
        state.op(&op.operator, &op.operands, &fonts);
    }
    Ok(lines(state.runs))
}

/// Groups runs into lines (one baseline, within half the smaller size) and lines into cells.
fn lines(mut runs: Vec<Run>) -> Vec<Line> {
    runs.sort_by(|a, b| b.y.total_cmp(&a.y).then(a.x0.total_cmp(&b.x0)));
    let mut grouped: Vec<Vec<Run>> = Vec::new();
    for run in runs {
        match grouped.last_mut() {
            Some(line) if (line[0].y - run.y).abs() < 0.5 * line[0].size.min(run.size) => {
                line.push(run)
            }
            _ => grouped.push(vec![run]),
        }
    }
    grouped.into_iter().map(cells).collect()
}

/// One line's runs, left to right, as cells: a gap wider than an em starts a new cell, a gap
/// wider than a fifth of one is a space.
fn cells(mut runs: Vec<Run>) -> Line {
    runs.sort_by(|a, b| a.x0.total_cmp(&b.x0));
    let mut cells: Vec<Cell> = Vec::new();
    let mut last_size = 0.0f32;
    for run in runs {
        match cells.last_mut() {
            Some(cell) if run.x0 - cell.x1 <= run.size.max(last_size) => {
                if run.x0 - cell.x1 > 0.2 * run.size && !cell.text.ends_with(' ') {
                    cell.text.push(' ');
                }
                cell.text.push_str(&run.text);
                cell.x1 = cell.x1.max(run.x1);
            }
            _ => cells.push(Cell {
                x0: run.x0,
                x1: run.x1,
                text: run.text,
            }),
        }
        last_size = run.size;
    }
    for cell in &mut cells {
        cell.text = cell.text.split_whitespace().collect::<Vec<_>>().join(" ");
    }
    Line { cells }
}
