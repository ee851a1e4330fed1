//! Where a suggestion sits in its document: the replaced text is pinned by two yrs sticky
//! indices, so edits elsewhere move it along (a rebase for free) and only an edit inside it
//! makes it stale. Shared by the browser (which draws and applies) and the server (which
//! checks before anyone may accept). Offsets are UTF-16 units, like every Tandem document's.

use yrs::{
    Assoc, GetString, IndexedSequence, ReadTxn, StickyIndex, TextRef,
    updates::{decoder::Decode, encoder::Encode},
};

/// The whole lines that the UTF-16 range `from..to` touches, without the last line break: a
/// suggestion always replaces whole lines, so its diff reads as lines. A range ending at the
/// start of a line does not take that line.
pub fn whole_lines(text: &str, from: u32, to: u32) -> (u32, u32) {
    let (from, mut to) = (from.min(to), from.max(to));
    let units: Vec<(u32, char)> = text
        .chars()
        .scan(0u32, |pos, c| {
            let at = *pos;
            *pos += c.len_utf16() as u32;
            Some((at, c))
        })
        .collect();
    if to > from && units.iter().any(|&(at, c)| c == '\n' && at + 1 == to) {
        to -= 1;
    }
    let start = units
        .iter()
        .filter(|&&(at, c)| c == '\n' && at < from)
        .map(|&(at, _)| at + 1)
        .next_back()
        .unwrap_or(0);
    let len = units.last().map_or(0, |&(at, c)| at + c.len_utf16() as u32);
    let end = units
        .iter()
        .find(|&&(at, c)| c == '\n' && at >= to)
        .map_or(len, |&(at, _)| at);
    (start, end.max(start))
}

/// The UTF-16 range of lines `first..=last` (1-based; clamped to the text), as
/// [`whole_lines`] gives it: from the first line's start to the last line's end, without its
/// line break.
pub fn lines_range(text: &str, first: u32, last: u32) -> (u32, u32) {
    let (first, last) = (first.max(1).min(last.max(1)), first.max(last));
    let mut line = 1u32;
    let (mut from, mut to) = (None, 0u32);
    let mut pos = 0u32;
    for c in text.chars() {
        if line == first && from.is_none() {
            from = Some(pos);
        }
        if line == last {
            to = pos;
        }
        if c == '\n' {
            line += 1;
        }
        pos += c.len_utf16() as u32;
    }
    // The last line has no break after it (or the range runs past the end).
    if line >= first && from.is_none() {
        from = Some(pos);
    }
    if line <= last {
        to = pos;
    }
    whole_lines(text, from.unwrap_or(pos), to)
}

/// 1-based line of UTF-16 offset `at`.
pub fn line_of(text: &str, at: u32) -> u32 {
    let mut pos = 0u32;
    let mut line = 1u32;
    for c in text.chars() {
        if pos >= at {
            break;
        }
        if c == '\n' {
            line += 1;
        }
        pos += c.len_utf16() as u32;
    }
    line
}

/// `s[from..to]` in UTF-16 units; `None` when out of range or inside a surrogate pair.
pub fn slice_utf16(s: &str, from: u32, to: u32) -> Option<&str> {
    if from > to {
        return None;
    }
    let mut pos = 0u32;
    let (mut a, mut b) = (None, None);
    for (i, c) in s.char_indices() {
        if pos == from {
            a = Some(i);
        }
        if pos == to {
            b = Some(i);
        }
        pos += c.len_utf16() as u32;
    }
    if pos == from {
        a = Some(s.len());
    }
    if pos == to {
        b = Some(s.len());
    }
    s.get(a?..b?)
}

/// Pins `from..to`: the start to the character after it (text typed just before the range
/// stays outside), the end to the character before it (text typed just after stays outside).
pub fn pin<T: ReadTxn>(txn: &T, text: &TextRef, from: u32, to: u32) -> Option<(Vec<u8>, Vec<u8>)> {
    // At the very end there is no character after: the start keeps to the one before.
    let start = text
        .sticky_index(txn, from, Assoc::After)
        .or_else(|| text.sticky_index(txn, from, Assoc::Before))?;
    let end = text.sticky_index(txn, to, Assoc::Before)?;
    Some((start.encode_v1(), end.encode_v1()))
}

/// Where a pinned range is now; `None` for garbage, an anchor this document does not hold
/// (yet), or a range turned inside out.
pub fn resolve<T: ReadTxn>(txn: &T, start: &[u8], end: &[u8]) -> Option<(u32, u32)> {
    let at = |b: &[u8]| {
        let s = StickyIndex::decode_v1(b).ok()?;
        s.get_offset(txn).map(|o| o.index)
    };
    let (from, to) = (at(start)?, at(end)?);
    (from <= to).then_some((from, to))
}

/// What the pinned range holds now, with its offsets.
pub fn current<T: ReadTxn>(
    txn: &T,
    text: &TextRef,
    start: &[u8],
    end: &[u8],
) -> Option<(u32, u32, String)> {
    let (from, to) = resolve(txn, start, end)?;
    let all = text.get_string(txn);
    slice_utf16(&all, from, to).map(|s| (from, to, s.to_owned()))
}

/// Whether the pinned range still holds exactly `original`: only then may it be replaced.
pub fn unchanged<T: ReadTxn>(
    txn: &T,
    text: &TextRef,
    start: &[u8],
    end: &[u8],
    original: &str,
) -> bool {
    current(txn, text, start, end).is_some_and(|(_, _, now)| now == original)
}

#[cfg(test)]
mod tests {
    use yrs::{Doc, OffsetKind, Options, Text, Transact, Update, updates::decoder::Decode};

    use super::*;

    const CONTENT: &str = "text";

    fn doc(s: &str) -> (Doc, TextRef) {
        let doc = Doc::with_options(Options {
            offset_kind: OffsetKind::Utf16,
            ..Options::default()
        });
        let text = doc.get_or_insert_text(CONTENT);
        text.insert(&mut doc.transact_mut(), 0, s);
        (doc, text)
    }

    #[test]
    fn line_ranges_are_whole_lines_clamped_to_the_text() {
        let t = "ab\ncd\nef\n";
        let slice = |(a, b): (u32, u32)| slice_utf16(t, a, b).map(str::to_owned);
        assert_eq!(slice(lines_range(t, 2, 2)), Some("cd".into()));
        assert_eq!(slice(lines_range(t, 1, 2)), Some("ab\ncd".into()));
        // Past the end: through the last line, without its break.
        assert_eq!(slice(lines_range(t, 0, 99)), Some("ab\ncd\nef".into()));
        assert_eq!(slice(lines_range(t, 3, 1)), Some("ab\ncd\nef".into()));
        let t2 = "x\ny";
        assert_eq!(
            slice_utf16(t2, lines_range(t2, 2, 5).0, lines_range(t2, 2, 5).1),
            Some("y")
        );
    }

    #[test]
    fn ranges_grow_to_whole_lines() {
        let s = "one\ntwo\nthree\nfour";
        // Inside "two" → the line "two".
        assert_eq!(slice_utf16(s, 4, 7), Some("two"));
        let (a, b) = whole_lines(s, 5, 6);
        assert_eq!(slice_utf16(s, a, b), Some("two"));
        // From "ne" to "hr" → lines 1-3.
        let (a, b) = whole_lines(s, 1, 10);
        assert_eq!(slice_utf16(s, a, b), Some("one\ntwo\nthree"));
        // Ending at the start of "three" does not take it.
        let (a, b) = whole_lines(s, 4, 8);
        assert_eq!(slice_utf16(s, a, b), Some("two"));
        // The last line has no break after it.
        let (a, b) = whole_lines(s, 16, 16);
        assert_eq!(slice_utf16(s, a, b), Some("four"));
        // A caret on an empty line is that (empty) line.
        let (a, b) = whole_lines("a\n\nb", 2, 2);
        assert_eq!((a, b), (2, 2));
        assert_eq!(line_of(s, 0), 1);
        assert_eq!(line_of(s, 8), 3);
        assert_eq!(line_of(s, 100), 4);
    }

    #[test]
    fn utf16_slices_respect_surrogates() {
        let s = "a😀b";
        assert_eq!(slice_utf16(s, 1, 3), Some("😀"));
        assert_eq!(slice_utf16(s, 2, 3), None);
        assert_eq!(slice_utf16(s, 3, 4), Some("b"));
        assert_eq!(slice_utf16(s, 0, 9), None);
        assert_eq!(slice_utf16(s, 4, 4), Some(""));
    }

    #[test]
    fn a_pinned_range_follows_edits_around_it_and_notices_edits_inside() {
        let (doc, text) = doc("head\nfn f() {}\ntail");
        let (start, end) = pin(&doc.transact(), &text, 5, 14).expect("pins");
        assert!(unchanged(&doc.transact(), &text, &start, &end, "fn f() {}"));
        // Typing right before and right after the range stays outside it.
        text.insert(&mut doc.transact_mut(), 5, "// x\n");
        text.insert(&mut doc.transact_mut(), 19, " // y");
        assert_eq!(
            current(&doc.transact(), &text, &start, &end).map(|c| c.2),
            Some("fn f() {}".to_owned())
        );
        // An edit inside changes it.
        text.insert(&mut doc.transact_mut(), 12, "a");
        assert!(!unchanged(
            &doc.transact(),
            &text,
            &start,
            &end,
            "fn f() {}"
        ));
        assert!(resolve(&doc.transact(), b"junk", &end).is_none());
        // The empty last line can be pinned too.
        let len = 4 + 5 + 9 + 5 + 1 + 5;
        let (s, e) = pin(&doc.transact(), &text, len, len).expect("pins at the end");
        assert_eq!(
            current(&doc.transact(), &text, &s, &e).map(|c| c.2),
            Some(String::new())
        );
    }

    #[test]
    fn anchors_resolve_in_another_replica() {
        let (a, text) = doc("let x = 1;\nlet y = 2;\n");
        let (start, end) = pin(&a.transact(), &text, 11, 21).expect("pins");
        let state = a
            .transact()
            .encode_state_as_update_v1(&yrs::StateVector::default());
        let b = Doc::with_options(Options {
            offset_kind: OffsetKind::Utf16,
            ..Options::default()
        });
        let btext = b.get_or_insert_text(CONTENT);
        b.transact_mut()
            .apply_update(Update::decode_v1(&state).expect("decodes"))
            .expect("applies");
        assert_eq!(
            current(&b.transact(), &btext, &start, &end).map(|c| c.2),
            Some("let y = 2;".to_owned())
        );
        // A replica that lacks the anchored text cannot place it.
        let (c, ctext) = doc("other");
        assert!(current(&c.transact(), &ctext, &start, &end).is_none());
    }
}
