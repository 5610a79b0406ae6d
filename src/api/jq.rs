//! `vault api --jq EXPR`: filters each answer with jq syntax, as `gh api --jq`
//! does, using jaq (a jq implementation in Rust). Strings print raw, everything else
//! as compact JSON, one value a line.

use jaq_core::load::{Arena, File, Loader};
use jaq_core::{Compiler, Ctx, Vars, data, unwrap_valr};
use jaq_json::Val;

type Filter = jaq_core::compile::Filter<jaq_core::Native<data::JustLut<Val>>>;

/// A compiled `--jq` expression.
pub struct Jq {
    filter: Filter,
}

impl std::fmt::Debug for Jq {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Jq")
    }
}

impl Jq {
    /// Compiles `expression`; a one-line error says what is wrong with it.
    pub fn new(expression: &str) -> Result<Self, String> {
        let defs = jaq_core::defs()
            .chain(jaq_std::defs())
            .chain(jaq_json::defs());
        let funs = jaq_core::funs()
            .chain(jaq_std::funs())
            .chain(jaq_json::funs());
        let arena = Arena::default();
        let program = File {
            code: expression,
            path: (),
        };
        let modules = Loader::new(defs).load(&arena, program).map_err(|_| {
            format!(
                "the --jq expression '{}' is not valid jq syntax",
                expression.escape_debug()
            )
        })?;
        let filter = Compiler::default()
            .with_funs(funs)
            .compile(modules)
            .map_err(|errors| {
                let undefined: Vec<&str> = errors
                    .iter()
                    .flat_map(|(_, errors)| errors.iter().map(|(name, _)| *name))
                    .collect();
                format!(
                    "the --jq expression names what jq does not define: {}",
                    undefined.join(", ")
                )
            })?;
        Ok(Jq { filter })
    }

    /// The lines the expression makes of `answer` (JSON text).
    pub fn apply(&self, answer: &[u8]) -> Result<Vec<String>, String> {
        let input = jaq_json::read::parse_single(answer)
            .map_err(|_| "the answer is not JSON, so --jq cannot filter it".to_owned())?;
        let ctx = Ctx::<data::JustLut<Val>>::new(&self.filter.lut, Vars::new([]));
        self.filter
            .id
            .run((ctx, input))
            .map(unwrap_valr)
            .map(|value| match value {
                Ok(Val::TStr(text)) => Ok(String::from_utf8_lossy(&text).into_owned()),
                Ok(other) => Ok(other.to_string()),
                Err(error) => Err(format!("--jq: {error}")),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_print_raw_and_the_rest_as_json() {
        let jq = Jq::new(".payload[] | select(.n > 1) | .name, {n}").unwrap();
        let lines = jq
            .apply(br#"{"payload":[{"name":"a","n":1},{"name":"b","n":2}]}"#)
            .unwrap();
        assert_eq!(lines, ["b", r#"{"n":2}"#]);
    }

    #[test]
    fn bad_expressions_and_answers_are_errors() {
        assert!(Jq::new(".payload[").unwrap_err().contains("not valid jq"));
        assert!(
            Jq::new("nosuchfunction")
                .unwrap_err()
                .contains("nosuchfunction")
        );
        let jq = Jq::new(".a").unwrap();
        assert!(jq.apply(b"not json").is_err());
        assert!(jq.apply(b"[1]").unwrap_err().starts_with("--jq: "));
    }
}
