//! Ranking win-back candidates by the registered reinstatement model: its inputs built by
//! `lapse_core::winback::features`, scored like any feature table, the list re-ordered by
//! P(reinstated within N days) x value if reinstated, each row with the inputs that raise its
//! probability most.

use std::path::Path;

use lapse_core::extract::Book;
use lapse_core::winback::{Candidate, features, model_basis, rank_by_model};

use lapse_model::artifact::LapseModel;
use lapse_model::registry::{Registry, RegistryError};
use lapse_model::scoring::lang::Lang;
use lapse_model::scoring::reasons::top_positive;
use lapse_model::scoring::{FeatureSource, FrameSource, ScoreError};

/// Inputs named per candidate as its drivers.
const DRIVERS: usize = 3;

/// Why a list could not be ranked by the model.
#[derive(Debug, thiserror::Error)]
pub enum WinbackRankError {
    #[error(transparent)]
    Registry(#[from] RegistryError),
    #[error("reinstatement model {version}: {source}")]
    Score { version: String, source: ScoreError },
    #[error("reinstatement model {version}: its label {label:?} is not a reinstatement label (reinstated_<N>d); is {dir} a lapse registry?")]
    NotReinstatement { version: String, label: String, dir: String },
}

/// Scores `list` (candidates at `as_of`) with `model`: P(reinstated) per candidate and its
/// drivers (the inputs with the largest positive contributions, strongest first).
pub fn score(model: &LapseModel, book: &Book, list: &[Candidate], as_of: lapse_core::dates::Day) -> Result<(Vec<f64>, Vec<Vec<String>>), ScoreError> {
    if list.is_empty() {
        return Ok((Vec::new(), Vec::new()));
    }
    let frame = features::frame(book, list, as_of, None).map_err(|e| ScoreError::Input(e.to_string()))?;
    let source = FrameSource(&frame);
    let columns = source.features(model, 0..list.len())?;
    let rows: Vec<usize> = (0..list.len()).collect();
    let design = model.design(&columns, &rows).map_err(|e| ScoreError::Model(e.to_string()))?;
    let probability = model.predict_design(&design);
    let width = model.schema.columns.len();
    let drivers = match model.contributions(&design) {
        Some(c) => (0..list.len())
            .map(|r| top_positive(&c[r * width..(r + 1) * width], DRIVERS).into_iter().map(|f| model.schema.columns[f].name.clone()).collect())
            .collect(),
        None => vec![Vec::new(); list.len()],
    };
    Ok((probability, drivers))
}

/// Ranks `list` by the champion of the reinstatement registry at `dir`, when it has one;
/// returns the priority basis the list now has (None: no champion, the fallback stays).
pub fn rank_with_champion(
    dir: &Path,
    book: &Book,
    list: &mut [Candidate],
    as_of: lapse_core::dates::Day,
) -> Result<Option<String>, WinbackRankError> {
    let registry = Registry::new(dir);
    let Some(version) = registry.champion()? else { return Ok(None) };
    let loaded = registry.load(&version)?;
    let horizon = features::horizon_of_label(&loaded.model.label).ok_or_else(|| WinbackRankError::NotReinstatement {
        version: version.clone(),
        label: loaded.model.label.clone(),
        dir: dir.display().to_string(),
    })?;
    let (probability, drivers) =
        score(&loaded.model, book, list, as_of).map_err(|source| WinbackRankError::Score { version: version.clone(), source })?;
    rank_by_model(book, list, &probability, drivers);
    Ok(Some(model_basis(&version, horizon)))
}

/// The win-back list of a night: the candidates in priority order, the basis of that
/// priority, and each candidate's reasons.
#[derive(Debug, Clone)]
pub struct WinbackList {
    pub candidates: Vec<Candidate>,
    /// How the list is ranked ([`model_basis`] or [`lapse_core::winback::FALLBACK_BASIS`]).
    pub basis: String,
    /// Whether a reinstatement model ranked it.
    pub ranked_by_model: bool,
    pub reasons: Vec<String>,
}

/// The win-back list at `as_of` (`lapse winback` and the nightly job): the policies lapsed
/// within `reinstatement_days` that can still be reinstated, ranked by the reinstatement
/// model registered in `models` when it has a champion, else by value x recency, with each
/// one's reasons in `lang`. A registry that cannot be used is an error (the caller decides
/// whether to fall back).
pub fn winback_list(
    book: &Book,
    as_of: lapse_core::dates::Day,
    grace_days: i32,
    reinstatement_days: i32,
    value_cap_years: f64,
    models: Option<&Path>,
    lang: Lang,
) -> Result<WinbackList, WinbackRankError> {
    let mut list = fallback_list(book, as_of, grace_days, reinstatement_days, value_cap_years, lang);
    if let Some(dir) = models
        && let Some(basis) = rank_with_champion(dir, book, &mut list.candidates, as_of)?
    {
        list.reasons = reasons(&list.candidates, lang);
        (list.basis, list.ranked_by_model) = (basis, true);
    }
    Ok(list)
}

/// The win-back list ranked by value x recency ([`winback_list`] without a model).
pub fn fallback_list(
    book: &Book,
    as_of: lapse_core::dates::Day,
    grace_days: i32,
    reinstatement_days: i32,
    value_cap_years: f64,
    lang: Lang,
) -> WinbackList {
    let candidates = lapse_core::winback::candidates(book, as_of, grace_days, reinstatement_days, value_cap_years);
    let reasons = reasons(&candidates, lang);
    WinbackList { candidates, basis: lapse_core::winback::FALLBACK_BASIS.to_string(), ranked_by_model: false, reasons }
}

/// What each reinstatement input means, in English and Chinese (a driver of a candidate's
/// probability, read by the win-back team).
const INPUTS: [(&str, &str, &str); 21] = [
    ("days_since_lapse", "time since the lapse", "失效时长"),
    ("days_left_to_reinstate", "time left to reinstate", "剩余复效期"),
    ("unpaid_renewals", "number of unpaid premiums", "欠缴期数"),
    ("arrears", "arrears amount", "欠缴金额"),
    ("arrears_to_annual_premium", "arrears against the annual premium", "欠缴金额与年缴保费之比"),
    ("annualized_premium", "annual premium", "年缴保费"),
    ("remaining_payment_years", "premium years left", "剩余缴费年期"),
    ("policy_year_at_lapse", "policy year at the lapse", "失效时保单年度"),
    ("age", "customer age", "客户年龄"),
    ("has_agent", "a servicing agent", "有服务业务员"),
    ("agent_left", "the servicing agent's status", "服务业务员在职状态"),
    ("sms_since_lapse", "reminders (SMS) since the lapse", "失效后短信提醒"),
    ("calls_since_lapse", "calls since the lapse", "失效后电话联系"),
    ("visits_since_lapse", "visits since the lapse", "失效后上门拜访"),
    ("days_since_last_contact", "a recent win-back contact", "近期挽回联系"),
    ("past_reinstatements", "reinstated before", "曾有复效记录"),
    ("channel", "sales channel", "销售渠道"),
    ("product_type", "product type", "产品类型"),
    ("region", "region", "地区"),
    ("payment_frequency", "payment frequency", "缴费频率"),
    ("payment_method", "payment method", "缴费方式"),
];

/// A reinstatement input in `lang` (its own name when the table does not know it).
pub fn describe_input(name: &str, lang: Lang) -> &str {
    match INPUTS.iter().find(|(n, _, _)| *n == name) {
        Some((_, en, zh)) => match lang {
            Lang::En => en,
            Lang::ZhCn => zh,
        },
        None => name,
    }
}

/// Why a candidate is on the list, in a sentence the win-back team reads, in `lang`.
pub fn reason(c: &Candidate, lang: Lang) -> String {
    let drivers: Vec<&str> = c.drivers.iter().map(|d| describe_input(d, lang)).collect();
    match lang {
        Lang::En => {
            let mut text = format!(
                "lapsed {} days ago; {} unpaid premium(s), arrears {:.0}; {} days left to reinstate",
                c.days_since_lapse, c.unpaid_renewals, c.arrears, c.days_left
            );
            if c.agent_left {
                text.push_str("; the servicing agent has left");
            }
            if !drivers.is_empty() {
                text.push_str("; reinstatement more likely given: ");
                text.push_str(&drivers.join(", "));
            }
            text
        }
        Lang::ZhCn => {
            let mut text =
                format!("已失效{}天；欠缴{}期，欠缴金额{:.0}元；复效期剩余{}天", c.days_since_lapse, c.unpaid_renewals, c.arrears, c.days_left);
            if c.agent_left {
                text.push_str("；服务业务员已离职");
            }
            if !drivers.is_empty() {
                text.push_str("；复效可能性较高的因素：");
                text.push_str(&drivers.join("、"));
            }
            text
        }
    }
}

/// Every candidate's sentence, in list order.
pub fn reasons(list: &[Candidate], lang: Lang) -> Vec<String> {
    list.iter().map(|c| reason(c, lang)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_input_of_the_table_has_its_words_in_both_languages() {
        let book = Book::default();
        let frame = features::frame(&book, &[], lapse_core::dates::parse_day("2026-06-30").unwrap(), None).unwrap();
        for name in frame.get_column_names() {
            if features::KEY_COLUMNS.contains(&name.as_str()) {
                continue;
            }
            let words = INPUTS.iter().find(|(n, _, _)| n == name).unwrap_or_else(|| panic!("{name} has no words"));
            assert!(!words.1.is_empty() && words.2.chars().all(|c| !c.is_ascii_alphabetic()), "{name}: {words:?}");
        }
    }
}
