//! ANSI colours in run output: SGR sequences (`ESC [ … m`) become styled spans; every other
//! escape sequence is dropped. The parser keeps its state between chunks (a colour set in one
//! chunk applies to the next; a sequence cut between two chunks is completed by the second).
//! Text stays text: spans are rendered as text nodes with a class, never as HTML.

/// Style of a span: foreground and background colour (0–15 for the basic and bright colours,
/// 16–255 for the 256-colour palette), bold, dim, italic, underline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Style {
    pub fg: Option<u8>,
    pub bg: Option<u8>,
    pub bold: bool,
    pub dim: bool,
    pub italic: bool,
    pub underline: bool,
}

impl Style {
    /// CSS classes for the span (`fg-1 bold`); empty for plain text.
    pub fn classes(&self) -> String {
        let mut c = Vec::new();
        if let Some(f) = self.fg {
            c.push(format!("fg-{f}"));
        }
        if let Some(b) = self.bg {
            c.push(format!("bg-{b}"));
        }
        for (on, name) in [
            (self.bold, "bold"),
            (self.dim, "dim"),
            (self.italic, "italic"),
            (self.underline, "underline"),
        ] {
            if on {
                c.push(name.to_owned());
            }
        }
        c.join(" ")
    }

    fn apply(&mut self, params: &[u16]) {
        let mut i = 0;
        if params.is_empty() {
            *self = Style::default();
        }
        while i < params.len() {
            match params[i] {
                0 => *self = Style::default(),
                1 => self.bold = true,
                2 => self.dim = true,
                3 => self.italic = true,
                4 => self.underline = true,
                22 => {
                    self.bold = false;
                    self.dim = false;
                }
                23 => self.italic = false,
                24 => self.underline = false,
                n @ 30..=37 => self.fg = Some((n - 30) as u8),
                n @ 90..=97 => self.fg = Some((n - 90 + 8) as u8),
                39 => self.fg = None,
                n @ 40..=47 => self.bg = Some((n - 40) as u8),
                n @ 100..=107 => self.bg = Some((n - 100 + 8) as u8),
                49 => self.bg = None,
                n @ (38 | 48) => {
                    // 38;5;N (256 colours). 38;2;R;G;B (true colour) is taken to the nearest
                    // basic colour's absence: kept plain rather than guessed.
                    let colour = match params.get(i + 1) {
                        Some(5) => {
                            let c = params.get(i + 2).map(|c| (*c).min(255) as u8);
                            i += 2;
                            c
                        }
                        Some(2) => {
                            i += 4;
                            None
                        }
                        _ => None,
                    };
                    if n == 38 {
                        self.fg = colour;
                    } else {
                        self.bg = colour;
                    }
                }
                _ => {}
            }
            i += 1;
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Span {
    pub style: Style,
    pub text: String,
}

/// The parser's state between chunks.
#[derive(Debug, Clone, Default)]
pub struct Ansi {
    style: Style,
    /// An escape sequence begun and not finished yet.
    partial: String,
}

/// Longest escape sequence kept waiting for its end; longer ones are dropped.
const MAX_SEQUENCE: usize = 64;

impl Ansi {
    /// Spans of `text`, styled by what came before.
    pub fn push(&mut self, text: &str) -> Vec<Span> {
        let mut spans: Vec<Span> = Vec::new();
        let mut out = String::new();
        let input = if self.partial.is_empty() {
            text.to_owned()
        } else {
            let mut s = std::mem::take(&mut self.partial);
            s.push_str(text);
            s
        };
        let mut chars = input.char_indices().peekable();
        let flush = |out: &mut String, spans: &mut Vec<Span>, style: Style| {
            if out.is_empty() {
                return;
            }
            match spans.last_mut() {
                Some(last) if last.style == style => last.text.push_str(out),
                _ => spans.push(Span {
                    style,
                    text: out.clone(),
                }),
            }
            out.clear();
        };
        while let Some((at, c)) = chars.next() {
            if c != '\u{1b}' {
                // Other control characters but newline and tab are not shown.
                if c == '\n' || c == '\t' || !c.is_control() {
                    out.push(c);
                }
                continue;
            }
            // ESC: find the end of the sequence.
            match chars.peek().map(|(_, c)| *c) {
                None => {
                    self.partial = input[at..].to_owned();
                    break;
                }
                Some('[') => {
                    chars.next();
                    let mut body = String::new();
                    let mut end = None;
                    for (_, c) in chars.by_ref() {
                        if ('\u{40}'..='\u{7e}').contains(&c) {
                            end = Some(c);
                            break;
                        }
                        body.push(c);
                    }
                    match end {
                        Some('m') => {
                            flush(&mut out, &mut spans, self.style);
                            let params: Vec<u16> = body
                                .split([';', ':'])
                                .filter(|p| !p.is_empty())
                                .filter_map(|p| p.parse().ok())
                                .collect();
                            self.style.apply(&params);
                        }
                        Some(_) => {}
                        None if input.len() - at <= MAX_SEQUENCE => {
                            self.partial = input[at..].to_owned();
                            break;
                        }
                        None => {}
                    }
                }
                Some(']') => {
                    // OSC (window titles, hyperlinks): up to BEL or ESC \.
                    chars.next();
                    let mut ended = false;
                    while let Some((_, c)) = chars.next() {
                        if c == '\u{7}' {
                            ended = true;
                            break;
                        }
                        if c == '\u{1b}' && chars.peek().map(|(_, c)| *c) == Some('\\') {
                            chars.next();
                            ended = true;
                            break;
                        }
                    }
                    if !ended && input.len() - at <= MAX_SEQUENCE {
                        self.partial = input[at..].to_owned();
                        break;
                    }
                }
                Some(_) => {
                    chars.next();
                }
            }
        }
        flush(&mut out, &mut spans, self.style);
        spans
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colours_become_classes_and_other_sequences_vanish() {
        let mut a = Ansi::default();
        let spans = a.push("plain \x1b[1;31mred\x1b[0m \x1b[2Kdone\x1b]0;title\x07!");
        let texts: Vec<(&str, String)> = spans
            .iter()
            .map(|s| (s.text.as_str(), s.style.classes()))
            .collect();
        assert_eq!(
            texts,
            vec![
                ("plain ", String::new()),
                ("red", "fg-1 bold".to_owned()),
                (" done!", String::new())
            ]
        );
    }

    #[test]
    fn state_carries_across_chunks() {
        let mut a = Ansi::default();
        assert_eq!(a.push("\x1b[3").len(), 0);
        let spans = a.push("2mgreen");
        assert_eq!(spans[0].style.fg, Some(2));
        let spans = a.push(" still");
        assert_eq!(spans[0].style.fg, Some(2));
        let spans = a.push("\x1b[38;5;208mo\x1b[39m");
        assert_eq!(spans[0].style.fg, Some(208));
    }

    #[test]
    fn markup_is_just_text() {
        let mut a = Ansi::default();
        let spans = a.push("<img src=x onerror=alert(1)>");
        assert_eq!(spans[0].text, "<img src=x onerror=alert(1)>");
    }
}
