//! A report as blocks of text, tables and figures, written out as one self-contained HTML file or as
//! Markdown: both renderings walk the same blocks, so the two files always say the same.

use super::encode::base64;

/// A piece of running text.
#[derive(Debug, Clone, PartialEq)]
pub enum Span {
    Text(String),
    Strong(String),
    Code(String),
    Link { text: String, url: String },
}

/// A line of running text.
pub type Line = Vec<Span>;

/// Plain text as a line.
pub fn text(t: impl Into<String>) -> Line {
    vec![Span::Text(t.into())]
}

/// What a figure holds.
#[derive(Debug, Clone, PartialEq)]
pub enum FigureData {
    Svg(String),
    Png(Vec<u8>),
}

/// A figure: a chart (SVG where plotters draws it) or pixels (PNG).
#[derive(Debug, Clone, PartialEq)]
pub struct Figure {
    /// File name without extension, unique within a report (the Markdown export's file).
    pub name: String,
    pub caption: String,
    pub width: u32,
    pub height: u32,
    pub data: FigureData,
}

impl Figure {
    /// The file name in the Markdown export.
    pub fn file_name(&self) -> String {
        match self.data {
            FigureData::Svg(_) => format!("{}.svg", self.name),
            FigureData::Png(_) => format!("{}.png", self.name),
        }
    }

    /// The file's bytes.
    pub fn bytes(&self) -> &[u8] {
        match &self.data {
            FigureData::Svg(svg) => svg.as_bytes(),
            FigureData::Png(png) => png,
        }
    }

    /// A `data:` URL holding the figure.
    pub fn data_url(&self) -> String {
        let mime = match self.data {
            FigureData::Svg(_) => "image/svg+xml",
            FigureData::Png(_) => "image/png",
        };
        format!("data:{mime};base64,{}", base64(self.bytes()))
    }
}

/// One block of a report.
#[derive(Debug, Clone, PartialEq)]
pub enum Block {
    /// A numbered section with an anchor (`id`).
    Section {
        id: String,
        title: String,
        blocks: Vec<Block>,
    },
    /// A titled part of a section.
    Sub {
        title: String,
        blocks: Vec<Block>,
    },
    Paragraph(Line),
    List(Vec<Line>),
    Table {
        caption: String,
        header: Vec<String>,
        rows: Vec<Vec<Line>>,
    },
    /// Figures shown side by side.
    Figures(Vec<Figure>),
    /// Parts laid out in columns where the page is wide enough (Grad-CAM panels).
    Grid(Vec<Block>),
}

/// Escapes text for HTML content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

fn html_line(line: &Line) -> String {
    line.iter()
        .map(|span| match span {
            Span::Text(t) => escape(t),
            Span::Strong(t) => format!("<strong>{}</strong>", escape(t)),
            Span::Code(t) => format!("<code>{}</code>", escape(t)),
            Span::Link { text, url } => {
                format!("<a href=\"{}\">{}</a>", escape(url), escape(text))
            }
        })
        .collect()
}

fn html_blocks(blocks: &[Block], out: &mut String) {
    for block in blocks {
        match block {
            Block::Section { id, title, blocks } => {
                out.push_str(&format!(
                    "<section id=\"{0}\" data-section=\"{0}\"><h2>{1}</h2>\n",
                    escape(id),
                    escape(title)
                ));
                html_blocks(blocks, out);
                out.push_str("</section>\n");
            }
            Block::Sub { title, blocks } => {
                out.push_str(&format!("<article><h3>{}</h3>\n", escape(title)));
                html_blocks(blocks, out);
                out.push_str("</article>\n");
            }
            Block::Grid(blocks) => {
                out.push_str("<div class=\"grid\">\n");
                html_blocks(blocks, out);
                out.push_str("</div>\n");
            }
            Block::Paragraph(line) => out.push_str(&format!("<p>{}</p>\n", html_line(line))),
            Block::List(items) => {
                out.push_str("<ul>\n");
                for item in items {
                    out.push_str(&format!("<li>{}</li>\n", html_line(item)));
                }
                out.push_str("</ul>\n");
            }
            Block::Table {
                caption,
                header,
                rows,
            } => {
                out.push_str(&format!(
                    "<div class=\"table\"><table><caption>{}</caption>\n<thead><tr>",
                    escape(caption)
                ));
                for h in header {
                    out.push_str(&format!("<th scope=\"col\">{}</th>", escape(h)));
                }
                out.push_str("</tr></thead>\n<tbody>\n");
                for row in rows {
                    out.push_str("<tr>");
                    for cell in row {
                        out.push_str(&format!("<td>{}</td>", html_line(cell)));
                    }
                    out.push_str("</tr>\n");
                }
                out.push_str("</tbody></table></div>\n");
            }
            Block::Figures(figures) => {
                out.push_str("<div class=\"figures\">\n");
                for f in figures {
                    out.push_str(&format!(
                        "<figure><img src=\"{}\" width=\"{}\" height=\"{}\" alt=\"{}\"/><figcaption>{}</figcaption></figure>\n",
                        f.data_url(),
                        f.width,
                        f.height,
                        escape(&f.caption),
                        escape(&f.caption)
                    ));
                }
                out.push_str("</div>\n");
            }
        }
    }
}

/// The style sheet: the light theme, for the screen and for print, with page breaks between sections.
const STYLE: &str = "
:root { color-scheme: light; }
body { margin: 0; background: #fff; color: #1a1d21; font: 15px/1.5 system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif; }
main { max-width: 1100px; margin: 0 auto; padding: 24px; }
h1 { font-size: 28px; margin: 0 0 4px; }
h2 { font-size: 22px; border-bottom: 2px solid #d6dae0; padding-bottom: 4px; margin-top: 32px; }
h3 { font-size: 17px; margin: 20px 0 8px; }
.meta { color: #4a5058; }
nav ul { columns: 2; list-style: none; padding-left: 0; }
.grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(380px, 1fr)); gap: 0 24px; }
.grid h3 { font-size: 15px; }
.grid p { font-size: 13px; margin: 4px 0; }
a { color: #0b5cad; }
code { font-size: 13px; background: #f2f4f7; padding: 1px 4px; border-radius: 3px; word-break: break-all; }
.table { overflow-x: auto; }
table { border-collapse: collapse; margin: 8px 0 16px; font-size: 13px; }
caption { text-align: left; color: #4a5058; padding-bottom: 4px; }
th, td { border: 1px solid #d6dae0; padding: 3px 8px; text-align: left; vertical-align: top; }
thead th { background: #f2f4f7; }
.figures { display: flex; flex-wrap: wrap; gap: 16px; align-items: flex-start; }
figure { margin: 8px 0; max-width: 100%; }
figure img { max-width: 100%; height: auto; image-rendering: pixelated; }
figcaption { font-size: 12px; color: #4a5058; max-width: 420px; }
article { break-inside: avoid; }
@media print {
  main { max-width: none; padding: 0; }
  section { break-before: page; }
  section:first-of-type { break-before: auto; }
  figure, table, tr { break-inside: avoid; }
  a { color: inherit; }
}
";

/// The whole report as one HTML file: inline styles, figures as `data:` URLs, no script, no request.
pub fn to_html(title: &str, meta: &Line, blocks: &[Block]) -> String {
    let mut out = String::new();
    out.push_str("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"/>");
    out.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"/>");
    // Nothing may be fetched: no script, no remote image, no font.
    out.push_str("<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; img-src data:; style-src 'unsafe-inline'\"/>");
    out.push_str(&format!(
        "<title>{}</title><style>{STYLE}</style></head>\n",
        escape(title)
    ));
    out.push_str(&format!(
        "<body><main>\n<header><h1>{}</h1><p class=\"meta\">{}</p></header>\n<nav><ul>",
        escape(title),
        html_line(meta)
    ));
    for block in blocks {
        if let Block::Section { id, title, .. } = block {
            out.push_str(&format!(
                "<li><a href=\"#{}\">{}</a></li>",
                escape(id),
                escape(title)
            ));
        }
    }
    out.push_str("</ul></nav>\n");
    html_blocks(blocks, &mut out);
    out.push_str("</main></body></html>\n");
    out
}

/// Escapes the characters Markdown would read as markup.
fn md_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(
            c,
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '|' | '#'
        ) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

fn md_line(line: &Line) -> String {
    line.iter()
        .map(|span| match span {
            Span::Text(t) => md_escape(t),
            Span::Strong(t) => format!("**{}**", md_escape(t)),
            Span::Code(t) => format!("`{}`", t.replace('`', "'")),
            Span::Link { text, url } => {
                format!("[{}](<{}>)", md_escape(text), url.replace('>', "%3E"))
            }
        })
        .collect()
}

fn md_blocks(blocks: &[Block], out: &mut String) {
    for block in blocks {
        match block {
            Block::Section { title, blocks, .. } => {
                out.push_str(&format!("## {}\n\n", md_escape(title)));
                md_blocks(blocks, out);
            }
            Block::Sub { title, blocks } => {
                out.push_str(&format!("### {}\n\n", md_escape(title)));
                md_blocks(blocks, out);
            }
            Block::Grid(blocks) => md_blocks(blocks, out),
            Block::Paragraph(line) => out.push_str(&format!("{}\n\n", md_line(line))),
            Block::List(items) => {
                for item in items {
                    out.push_str(&format!("- {}\n", md_line(item)));
                }
                out.push('\n');
            }
            Block::Table {
                caption,
                header,
                rows,
            } => {
                out.push_str(&format!("*{}*\n\n", md_escape(caption)));
                let cells: Vec<String> = header.iter().map(|h| md_escape(h)).collect();
                out.push_str(&format!("| {} |\n", cells.join(" | ")));
                out.push_str(&format!("|{}\n", " --- |".repeat(header.len())));
                for row in rows {
                    let cells: Vec<String> = row.iter().map(md_line).collect();
                    out.push_str(&format!("| {} |\n", cells.join(" | ")));
                }
                out.push('\n');
            }
            Block::Figures(figures) => {
                for f in figures {
                    out.push_str(&format!(
                        "![{}](figures/{})\n\n",
                        md_escape(&f.caption),
                        f.file_name()
                    ));
                }
            }
        }
    }
}

/// Every figure of the blocks, in order.
pub fn figures(blocks: &[Block]) -> Vec<&Figure> {
    let mut out = Vec::new();
    for block in blocks {
        match block {
            Block::Section { blocks, .. } | Block::Sub { blocks, .. } | Block::Grid(blocks) => {
                out.extend(figures(blocks))
            }
            Block::Figures(f) => out.extend(f.iter()),
            _ => {}
        }
    }
    out
}

/// The report as Markdown: `report.md` with its figures under `figures/`, as (path, bytes) entries.
pub fn to_markdown(title: &str, meta: &Line, blocks: &[Block]) -> Vec<(String, Vec<u8>)> {
    let mut text = format!("# {}\n\n{}\n\n", md_escape(title), md_line(meta));
    md_blocks(blocks, &mut text);
    let mut entries = vec![("report.md".to_string(), text.into_bytes())];
    for f in figures(blocks) {
        entries.push((format!("figures/{}", f.file_name()), f.bytes().to_vec()));
    }
    entries
}
