//! Chat markdown to HTML that is safe to put into the page. Two layers: raw HTML in a message
//! is turned into literal text before rendering (so `<b>` shows as `<b>`), and the rendered
//! HTML then passes an allow-list sanitiser (ammonia) that keeps only formatting tags, plain
//! `http(s)`/`mailto` links and the classes the chat's own styling needs.

use std::{borrow::Cow, collections::HashMap, sync::LazyLock};

use app::types::UserId;
use pulldown_cmark::{CodeBlockKind, CowStr, Event, Options, Parser, Tag, TagEnd, html};

/// Members who can be mentioned: lower-cased name → (user id, name as written).
pub type Mentionable = HashMap<String, (UserId, String)>;

static SANITIZER: LazyLock<ammonia::Builder<'static>> = LazyLock::new(|| {
    let mut b = ammonia::Builder::empty();
    b.add_tags([
        "p",
        "br",
        "em",
        "strong",
        "del",
        "code",
        "pre",
        "blockquote",
        "ul",
        "ol",
        "li",
        "a",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "hr",
        "table",
        "thead",
        "tbody",
        "tr",
        "th",
        "td",
        "span",
    ])
    .add_tag_attributes("a", ["href", "title"])
    .add_tag_attributes("code", ["class"])
    .add_tag_attributes("span", ["class"])
    .add_tag_attributes("ol", ["start"])
    .add_clean_content_tags(["script", "style"])
    .url_schemes(["http", "https", "mailto"].into())
    .link_rel(Some("noopener noreferrer nofollow"))
    .attribute_filter(|element, attribute, value| match (element, attribute) {
        // Only `language-xyz` on code (for highlighting) and `mention` on spans.
        ("code", "class") => value
            .strip_prefix("language-")
            .filter(|l| !l.is_empty() && l.len() <= 32 && l.chars().all(is_lang_char))
            .map(|_| Cow::Owned(value.to_owned())),
        ("span", "class") => (value == "mention").then(|| Cow::Owned(value.to_owned())),
        _ => Some(Cow::Owned(value.to_owned())),
    });
    b
});

fn is_lang_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "+-_#.".contains(c)
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "._-".contains(c)
}

/// The message as sanitised HTML, and the ids of the members it mentions.
pub fn render(body: &str, members: &Mentionable) -> (String, Vec<UserId>) {
    let mut mentions = Vec::new();
    let mut in_code_block = false;
    let mut events = Vec::new();
    let options = Options::ENABLE_STRIKETHROUGH | Options::ENABLE_TABLES;
    for event in Parser::new_ext(body, options) {
        // No raw HTML from users: show it as the text it is (a block of it as a paragraph).
        let event = match event {
            Event::Html(s) | Event::InlineHtml(s) => Event::Text(s),
            Event::Start(Tag::HtmlBlock) => Event::Start(Tag::Paragraph),
            Event::End(TagEnd::HtmlBlock) => Event::End(TagEnd::Paragraph),
            other => other,
        };
        match event {
            Event::Start(Tag::CodeBlock(kind)) => {
                in_code_block = true;
                // Only the first word of the info string names the language.
                let kind = match kind {
                    CodeBlockKind::Fenced(info) => CodeBlockKind::Fenced(CowStr::from(
                        info.split_whitespace().next().unwrap_or("").to_owned(),
                    )),
                    indented => indented,
                };
                events.push(Event::Start(Tag::CodeBlock(kind)));
            }
            Event::End(TagEnd::CodeBlock) => {
                in_code_block = false;
                events.push(Event::End(TagEnd::CodeBlock));
            }
            Event::Text(text) if !in_code_block && text.contains('@') => {
                mark_mentions(&text, members, &mut mentions, &mut events);
            }
            // Images would load third-party URLs into everyone's browser: keep their text.
            Event::Start(Tag::Image { .. }) | Event::End(TagEnd::Image) => {}
            other => events.push(other),
        }
    }
    let mut out = String::with_capacity(body.len() * 3 / 2 + 16);
    html::push_html(&mut out, events.into_iter());
    mentions.sort_unstable();
    mentions.dedup();
    (SANITIZER.clean(&out).to_string(), mentions)
}

/// Splits `text` around `@name` of known members, which become mention spans.
fn mark_mentions<'a>(
    text: &str,
    members: &Mentionable,
    mentions: &mut Vec<UserId>,
    events: &mut Vec<Event<'a>>,
) {
    let mut plain_from = 0;
    let mut prev: Option<char> = None;
    let mut iter = text.char_indices().peekable();
    while let Some((i, c)) = iter.next() {
        let boundary = prev.is_none_or(|p| !is_name_char(p) && p != '@');
        prev = Some(c);
        if c != '@' || !boundary {
            continue;
        }
        let start = i + 1;
        let mut end = start;
        while let Some(&(j, n)) = iter.peek() {
            if !is_name_char(n) {
                break;
            }
            end = j + n.len_utf8();
            prev = Some(n);
            iter.next();
        }
        // A sentence may end right after a name: "thanks @ann."
        let name = text[start..end].trim_end_matches('.');
        if let Some((id, written)) = members.get(&name.to_lowercase()) {
            if plain_from < i {
                events.push(Event::Text(CowStr::from(text[plain_from..i].to_owned())));
            }
            let mut span = String::from("<span class=\"mention\">@");
            // Names are validated letters, digits and `._-`, but escape all the same.
            escape_into(&mut span, written);
            span.push_str("</span>");
            events.push(Event::InlineHtml(CowStr::from(span)));
            mentions.push(*id);
            plain_from = start + name.len();
        }
    }
    if plain_from < text.len() {
        events.push(Event::Text(CowStr::from(text[plain_from..].to_owned())));
    }
}

fn escape_into(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn members() -> Mentionable {
        [(1, "ann"), (2, "Bob.Smith")]
            .into_iter()
            .map(|(id, n)| (n.to_lowercase(), (UserId(id), n.to_owned())))
            .collect()
    }

    fn html(body: &str) -> String {
        render(body, &members()).0
    }

    #[test]
    fn markdown_renders() {
        assert_eq!(
            html("**bold** and `x < y`"),
            "<p><strong>bold</strong> and <code>x &lt; y</code></p>\n"
        );
        let code = html("```rust title=\"x\"\nfn main() {}\n```");
        assert_eq!(
            code,
            "<pre><code class=\"language-rust\">fn main() {}\n</code></pre>\n"
        );
        assert!(html("[docs](https://example.com/a?b=1)").contains(
            "<a href=\"https://example.com/a?b=1\" rel=\"noopener noreferrer nofollow\">docs</a>"
        ));
        assert!(html("| a | b |\n|---|---|\n| 1 | 2 |").contains("<td>1</td>"));
    }

    #[test]
    fn raw_html_and_scripts_are_text() {
        let h = html("<script>alert(1)</script>");
        assert!(!h.contains("<script"), "{h}");
        assert!(h.contains("&lt;script&gt;alert(1)&lt;/script&gt;"), "{h}");
        let h = html("hi <img src=x onerror=alert(1)> there");
        assert!(!h.contains("<img"), "{h}");
        assert!(h.contains("&lt;img src=x onerror=alert(1)&gt;"), "{h}");
        let h = html("<div onclick=\"x()\">\n\nblock\n\n</div>");
        assert!(!h.contains("<div"), "{h}");
        assert!(
            h.starts_with("<p>&lt;div onclick"),
            "an HTML block becomes a paragraph: {h}"
        );
        let (h, ids) = render("<b>hi</b> @ann", &members());
        assert_eq!(ids, [UserId(1)], "{h}");
        let h = html("<a href=\"javascript:alert(1)\">x</a>");
        assert!(!h.contains("<a "), "{h}");
    }

    #[test]
    fn dangerous_links_lose_their_target() {
        for link in [
            "[x](javascript:alert(1))",
            "[x](JaVaScRiPt:alert(1))",
            "[x](data:text/html,<script>alert(1)</script>)",
            "[x](vbscript:msgbox)",
            "<javascript:alert(1)>",
        ] {
            let h = html(link);
            assert!(
                !h.to_lowercase().contains("javascript:") || !h.contains("href"),
                "{link}: {h}"
            );
            assert!(
                !h.contains("href=\"data:") && !h.contains("href=\"vbscript"),
                "{link}: {h}"
            );
        }
        assert!(!html("![t](https://evil.example/x.png)").contains("<img"));
    }

    #[test]
    fn classes_are_limited() {
        let h = html("```x\" onmouseover=\"alert(1)\ncode\n```");
        assert!(!h.contains("onmouseover"), "{h}");
        let h = html("```\nplain\n```");
        assert_eq!(h, "<pre><code>plain\n</code></pre>\n");
    }

    #[test]
    fn mentions_of_members_are_marked() {
        let (h, ids) = render(
            "hey @ann and @bob.smith. not @carol, mail a@ann.org",
            &members(),
        );
        assert_eq!(ids, [UserId(1), UserId(2)]);
        assert!(h.contains("<span class=\"mention\">@ann</span> and"), "{h}");
        assert!(
            h.contains("<span class=\"mention\">@Bob.Smith</span>."),
            "{h}"
        );
        assert!(h.contains("@carol"), "{h}");
        assert!(h.contains("a@ann.org"), "{h}");
        let (h, ids) = render("`@ann` in code\n\n```\n@ann\n```", &members());
        assert!(ids.is_empty(), "{h}");
    }
}
