//! The one dictionary encoding of text categories: a `u32` code per row and the distinct
//! levels, in order of first appearance. The extract's text columns, the trainer's categorical
//! features and the scorebook's strings all use it: four bytes a row instead of a `String`
//! each (training tables have millions of rows and a dozen categorical columns).

use rustc_hash::FxHashMap;

/// A dictionary-encoded text column: `codes[i]` indexes `levels`, or is [`Categories::MISSING`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Categories {
    pub codes: Vec<u32>,
    pub levels: Vec<String>,
}

impl Categories {
    /// The code of a missing value.
    pub const MISSING: u32 = u32::MAX;

    /// Encodes values (None = missing), levels in order of first appearance.
    pub fn from_values<'a>(values: impl IntoIterator<Item = Option<&'a str>>) -> Self {
        let mut levels = Dictionary::default();
        // Runs of one value are common (one policy's rows, one method): skip their lookups.
        let mut last: Option<(&'a str, u32)> = None;
        let codes = values
            .into_iter()
            .map(|value| match value {
                None => Self::MISSING,
                Some(v) => match last {
                    Some((l, code)) if l == v => code,
                    _ => {
                        let code = levels.code(v);
                        last = Some((v, code));
                        code
                    }
                },
            })
            .collect();
        Categories { codes, levels: levels.into_levels() }
    }

    pub fn len(&self) -> usize {
        self.codes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.codes.is_empty()
    }

    /// The value of a row (None when missing).
    pub fn get(&self, row: usize) -> Option<&str> {
        self.level(self.codes[row])
    }

    /// The level of a code (None for [`Categories::MISSING`]).
    pub fn level(&self, code: u32) -> Option<&str> {
        (code != Self::MISSING).then(|| self.levels[code as usize].as_str())
    }

    /// The code of a level, if any row has it.
    pub fn code_of(&self, level: &str) -> Option<u32> {
        self.levels.iter().position(|l| l == level).map(|p| p as u32)
    }

    /// Every row's value.
    pub fn iter(&self) -> impl Iterator<Item = Option<&str>> + '_ {
        self.codes.iter().map(|&c| self.level(c))
    }

    /// Keeps the rows in `order` (a permutation or selection of row indices).
    pub fn select(&self, order: &[u32]) -> Self {
        Categories { codes: order.iter().map(|&i| self.codes[i as usize]).collect(), levels: self.levels.clone() }
    }
}

/// The encoding itself: levels numbered in order of first appearance, built one value at a
/// time. [`Categories::from_values`] encodes a column with it; the scorebook keeps one shared by
/// several columns (channels, regions, products, agents and categorical reason values).
#[derive(Debug, Default)]
pub struct Dictionary {
    codes: FxHashMap<Box<str>, u32>,
    levels: Vec<Box<str>>,
}

impl Dictionary {
    /// The code of `text`, added when new.
    pub fn code(&mut self, text: &str) -> u32 {
        if let Some(&code) = self.codes.get(text) {
            return code;
        }
        let code = self.levels.len() as u32;
        self.levels.push(text.into());
        self.codes.insert(text.into(), code);
        code
    }

    /// The level of a code (None for [`Categories::MISSING`] or an unknown code).
    pub fn get(&self, code: u32) -> Option<&str> {
        self.levels.get(code as usize).map(|s| &**s)
    }

    /// The code of `text` if it was ever added.
    pub fn find(&self, text: &str) -> Option<u32> {
        self.codes.get(text).copied()
    }

    pub fn len(&self) -> usize {
        self.levels.len()
    }

    pub fn is_empty(&self) -> bool {
        self.levels.is_empty()
    }

    /// The levels, in code order.
    pub fn into_levels(self) -> Vec<String> {
        self.levels.into_iter().map(String::from).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn categories_round_trip_their_values() {
        let values = [Some("b"), None, Some("a"), Some("b"), Some("b"), None];
        let c = Categories::from_values(values);
        assert_eq!(c.levels, ["b", "a"]);
        assert_eq!(c.codes, [0, Categories::MISSING, 1, 0, 0, Categories::MISSING]);
        assert_eq!(c.iter().collect::<Vec<_>>(), values);
        assert_eq!((c.get(2), c.get(1), c.len(), c.code_of("a")), (Some("a"), None, 6, Some(1)));
        assert_eq!(c.select(&[2, 0]).iter().collect::<Vec<_>>(), [Some("a"), Some("b")]);
    }

    #[test]
    fn a_dictionary_gives_the_codes_of_first_appearance() {
        let mut d = Dictionary::default();
        assert_eq!([d.code("x"), d.code("y"), d.code("x")], [0, 1, 0]);
        assert_eq!((d.get(1), d.get(Categories::MISSING), d.find("z"), d.len()), (Some("y"), None, None, 2));
    }
}
