//! The cache's SQL: recognizing `CACHE [LAZY] TABLE`, `UNCACHE TABLE`, `CLEAR CACHE`,
//! `REFRESH TABLE` and `SHOW CACHES` before DataFusion, which rejects or misreads them.
//!
//! sqlparser parses `CACHE` and `UNCACHE` (Spark's syntax); the other three it does not know
//! (`SHOW CACHES` it reads as a session variable), so they are recognized from their tokens.
//! sqlparser reads any token after `CACHE TABLE name` as options or a query, a `;` included, so
//! scripts are split into statements first ([`split_statements`]).

use datafusion::sql::sqlparser::ast::{Expr, ObjectName, Query, SqlOption, Statement, Value};
use datafusion::sql::sqlparser::dialect::GenericDialect;
use datafusion::sql::sqlparser::keywords::Keyword;
use datafusion::sql::sqlparser::parser::Parser;
use datafusion::sql::sqlparser::tokenizer::{Token, Tokenizer};

use super::{CacheError, Storage};

/// What a read does when the files under a cache changed since it was made.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum OnChange {
    /// Fail, naming the cache and the changed file (the default).
    #[default]
    Error,
    /// Recompute the cache from its plan.
    Refresh,
}

/// The options of `CACHE TABLE ... OPTIONS (...)`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CacheOptions {
    pub storage: Storage,
    pub on_change: OnChange,
}

impl CacheOptions {
    /// The option names accepted (`storageLevel` is Spark's name for `storage`).
    pub const NAMES: [&'static str; 3] = ["storage", "storageLevel", "on_change"];

    /// Reads `key`/`value` pairs, naming the option at fault.
    pub fn from_pairs<'a>(
        pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Self, CacheError> {
        let mut options = CacheOptions::default();
        for (key, value) in pairs {
            match key.to_ascii_lowercase().as_str() {
                "storage" | "storagelevel" => options.storage = value.parse()?,
                "on_change" => {
                    options.on_change = match value.to_ascii_lowercase().as_str() {
                        "error" => OnChange::Error,
                        "refresh" => OnChange::Refresh,
                        _ => {
                            return Err(CacheError::Option {
                                option: "on_change".to_string(),
                                value: value.to_string(),
                                expected: "error, refresh".to_string(),
                            })
                        }
                    }
                }
                _ => {
                    return Err(CacheError::Option {
                        option: key.to_string(),
                        value: value.to_string(),
                        expected: format!("one of the options {}", Self::NAMES.join(", ")),
                    })
                }
            }
        }
        Ok(options)
    }
}

/// One of the cache's statements.
#[derive(Clone, Debug, PartialEq)]
pub enum CacheStatement {
    /// `CACHE [LAZY] TABLE name [OPTIONS (...)] [[AS] query]`: a query's result, or an existing
    /// table or view when there is no query.
    Cache {
        name: String,
        lazy: bool,
        options: CacheOptions,
        query: Option<Box<Query>>,
    },
    /// `UNCACHE TABLE [IF EXISTS] name`
    Uncache { name: String, if_exists: bool },
    /// `CLEAR CACHE`
    Clear,
    /// `REFRESH TABLE name`
    Refresh { name: String },
    /// `SHOW CACHES`
    Show,
}

impl CacheStatement {
    /// The cache statement `sql` is (one statement, without its `;`), or `None` when it is
    /// some other statement.
    ///
    /// ```
    /// use ardent_engine::cache::statement::CacheStatement;
    /// use ardent_engine::cache::Storage;
    /// let Some(CacheStatement::Cache { name, lazy, options, query }) = CacheStatement::parse(
    ///     "CACHE LAZY TABLE segs OPTIONS ('storage' 'disk') AS SELECT 1",
    /// ).unwrap() else { panic!() };
    /// assert_eq!((name.as_str(), lazy, options.storage), ("segs", true, Storage::Disk));
    /// assert!(query.is_some());
    /// assert_eq!(CacheStatement::parse("show caches").unwrap(), Some(CacheStatement::Show));
    /// assert_eq!(CacheStatement::parse("SELECT 1").unwrap(), None);
    /// ```
    pub fn parse(sql: &str) -> Result<Option<Self>, CacheError> {
        let tokens = significant_tokens(sql)?;
        let words: Vec<String> = tokens.iter().take(4).map(keyword_of).collect();
        let word = |i: usize| words.get(i).map(String::as_str);
        let exact = |expected: &[&str], statement: CacheStatement| {
            if words.len() == expected.len() {
                Ok(Some(statement))
            } else {
                Err(syntax(sql, &format!("expected {}", expected.join(" "))))
            }
        };
        match (word(0), word(1)) {
            (Some("CLEAR"), Some("CACHE")) => exact(&["CLEAR", "CACHE"], CacheStatement::Clear),
            (Some("SHOW"), Some("CACHES")) => exact(&["SHOW", "CACHES"], CacheStatement::Show),
            (Some("REFRESH"), Some("TABLE")) => match tokens.get(2) {
                Some(Token::Word(w)) if tokens.len() == 3 => Ok(Some(CacheStatement::Refresh {
                    name: resolve(&w.value, w.quote_style),
                })),
                _ => Err(syntax(sql, "expected REFRESH TABLE name")),
            },
            (Some("CACHE" | "UNCACHE"), _) => Self::from_sqlparser(sql).map(Some),
            _ => Ok(None),
        }
    }

    fn from_sqlparser(sql: &str) -> Result<Self, CacheError> {
        let statement = Parser::new(&GenericDialect {})
            .try_with_sql(&with_option_equals(sql)?)
            .and_then(|mut p| p.parse_statement())
            .map_err(|e| syntax(sql, &e.to_string()))?;
        match statement {
            Statement::Cache {
                table_flag,
                table_name,
                options,
                query,
                ..
            } => {
                let lazy = match table_flag {
                    None => false,
                    Some(flag) if flag.to_string().eq_ignore_ascii_case("lazy") => true,
                    Some(flag) => {
                        return Err(syntax(sql, &format!("unknown flag {flag}: only LAZY")))
                    }
                };
                let pairs = options
                    .iter()
                    .map(|o| option_pair(sql, o))
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(CacheStatement::Cache {
                    name: name_of(&table_name),
                    lazy,
                    options: CacheOptions::from_pairs(
                        pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())),
                    )?,
                    query,
                })
            }
            Statement::UNCache {
                table_name,
                if_exists,
            } => Ok(CacheStatement::Uncache {
                name: name_of(&table_name),
                if_exists,
            }),
            _ => Err(syntax(sql, "not a CACHE or UNCACHE statement")),
        }
    }
}

/// Table names as DataFusion resolves them: lower case unless quoted.
fn name_of(name: &ObjectName) -> String {
    name.0
        .iter()
        .map(|part| match part.as_ident() {
            Some(ident) => resolve(&ident.value, ident.quote_style),
            None => part.to_string(),
        })
        .collect::<Vec<_>>()
        .join(".")
}

fn resolve(value: &str, quote_style: Option<char>) -> String {
    match quote_style {
        None => value.to_lowercase(),
        Some(_) => value.to_string(),
    }
}

fn option_pair(sql: &str, option: &SqlOption) -> Result<(String, String), CacheError> {
    let SqlOption::KeyValue { key, value } = option else {
        return Err(syntax(
            sql,
            &format!("option {option} is not 'key' 'value'"),
        ));
    };
    let value = match value {
        Expr::Value(v) => match &v.value {
            Value::SingleQuotedString(s) | Value::DoubleQuotedString(s) => s.clone(),
            other => other.to_string(),
        },
        Expr::Identifier(ident) => ident.value.clone(),
        other => other.to_string(),
    };
    Ok((key.value.clone(), value))
}

/// `sql` with `=` between an option's key and value where it was left out: Spark accepts
/// `OPTIONS ('storage' 'disk')`, sqlparser only `OPTIONS ('storage' = 'disk')`.
fn with_option_equals(sql: &str) -> Result<String, CacheError> {
    let tokens = tokens(sql)?;
    let mut text = String::with_capacity(sql.len() + 8);
    let mut in_options = false;
    let mut after_options = false;
    let mut expecting_value = false;
    for token in tokens {
        match &token {
            Token::Word(w) if w.keyword == Keyword::OPTIONS && !in_options => after_options = true,
            Token::LParen if after_options => {
                in_options = true;
                after_options = false;
            }
            Token::RParen if in_options => in_options = false,
            Token::Comma if in_options => expecting_value = false,
            Token::Eq if in_options => expecting_value = false,
            Token::SingleQuotedString(_) if in_options => {
                if expecting_value {
                    text.push_str(" =");
                }
                expecting_value = !expecting_value;
            }
            Token::Whitespace(_) => {}
            _ => after_options = false,
        }
        text.push_str(&token.to_string());
    }
    Ok(text)
}

fn syntax(sql: &str, message: &str) -> CacheError {
    CacheError::Syntax {
        statement: sql.trim().to_string(),
        message: message.to_string(),
    }
}

/// A token as a keyword is compared: words in upper case unless quoted.
fn keyword_of(token: &Token) -> String {
    match token {
        Token::Word(w) if w.quote_style.is_none() => w.value.to_ascii_uppercase(),
        other => other.to_string(),
    }
}

/// The tokens of `sql`, the error naming the statement.
fn tokens(sql: &str) -> Result<Vec<Token>, CacheError> {
    Tokenizer::new(&GenericDialect {}, sql)
        .tokenize()
        .map_err(|e| syntax(sql, &e.to_string()))
}

/// The tokens of `sql` without whitespace, comments and a final `;`.
fn significant_tokens(sql: &str) -> Result<Vec<Token>, CacheError> {
    let mut tokens: Vec<Token> = tokens(sql)?
        .into_iter()
        .filter(|t| !matches!(t, Token::Whitespace(_)))
        .collect();
    if tokens.last() == Some(&Token::SemiColon) {
        tokens.pop();
    }
    Ok(tokens)
}

/// Splits a script at its top-level `;` (not those inside strings, quoted names or comments),
/// dropping empty statements.
///
/// ```
/// use ardent_engine::cache::statement::split_statements;
/// let parts = split_statements("CACHE TABLE t; SELECT ';' -- a ; here\n; ;").unwrap();
/// assert_eq!(parts, vec!["CACHE TABLE t", " SELECT ';' -- a ; here\n"]);
/// ```
pub fn split_statements(script: &str) -> Result<Vec<String>, CacheError> {
    let tokens = tokens(script)?;
    let mut statements = Vec::new();
    let mut current = String::new();
    let mut significant = false;
    for token in tokens {
        match token {
            Token::SemiColon => {
                if significant {
                    statements.push(std::mem::take(&mut current));
                }
                current.clear();
                significant = false;
            }
            other => {
                significant |= !matches!(other, Token::Whitespace(_));
                current.push_str(&other.to_string());
            }
        }
    }
    if significant {
        statements.push(current);
    }
    Ok(statements)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(sql: &str) -> CacheStatement {
        CacheStatement::parse(sql)
            .unwrap()
            .unwrap_or_else(|| panic!("{sql}: not a cache statement"))
    }

    fn error(sql: &str) -> String {
        CacheStatement::parse(sql).unwrap_err().to_string()
    }

    #[test]
    fn reads_every_statement() {
        match parse("cache table Segs as select 1") {
            CacheStatement::Cache {
                name,
                lazy: false,
                options,
                query: Some(_),
            } => {
                assert_eq!(name, "segs");
                assert_eq!(options, CacheOptions::default());
            }
            other => panic!("{other:?}"),
        }
        match parse(
            "CACHE TABLE \"Mixed\" OPTIONS ('storageLevel' 'MEMORY_ONLY', 'on_change' 'refresh')",
        ) {
            CacheStatement::Cache {
                name,
                options,
                query: None,
                ..
            } => {
                assert_eq!(name, "Mixed");
                assert_eq!(options.storage, Storage::Memory);
                assert_eq!(options.on_change, OnChange::Refresh);
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            parse("UNCACHE TABLE IF EXISTS segs;"),
            CacheStatement::Uncache {
                name: "segs".into(),
                if_exists: true
            }
        );
        assert_eq!(parse("clear cache"), CacheStatement::Clear);
        assert_eq!(
            parse("REFRESH TABLE Segs"),
            CacheStatement::Refresh {
                name: "segs".into()
            }
        );
        assert_eq!(parse("  SHOW CACHES ; "), CacheStatement::Show);
    }

    #[test]
    fn leaves_other_statements_alone() {
        for sql in [
            "SELECT 1",
            "SHOW TABLES",
            "SET a = 1",
            "CREATE VIEW v AS SELECT 1",
            "",
        ] {
            assert_eq!(CacheStatement::parse(sql).unwrap(), None, "{sql}");
        }
    }

    #[test]
    fn bad_statements_name_their_fault() {
        let e = error("CACHE TABLE t OPTIONS ('storage' 'ram') AS SELECT 1");
        assert!(e.contains("'ram'") && e.contains("memory_and_disk"), "{e}");
        let e = error("CACHE TABLE t OPTIONS ('size' '1G') AS SELECT 1");
        assert!(e.contains("'size'") && e.contains("storageLevel"), "{e}");
        let e = error("CACHE TABLE t OPTIONS ('on_change' 'ignore') AS SELECT 1");
        assert!(e.contains("on_change") && e.contains("refresh"), "{e}");
        assert!(error("CLEAR CACHE now").contains("CLEAR CACHE"));
        assert!(error("SHOW CACHES segs").contains("SHOW CACHES"));
        assert!(error("REFRESH TABLE").contains("REFRESH TABLE name"));
        assert!(error("CACHE TABLE").contains("CACHE TABLE"));
    }

    #[test]
    fn scripts_split_outside_strings_and_comments() {
        let parts =
            split_statements("CACHE TABLE a AS SELECT 'x;y';\n/* ; */ UNCACHE TABLE a;;").unwrap();
        assert_eq!(parts.len(), 2, "{parts:?}");
        assert_eq!(
            parse(&parts[1]),
            CacheStatement::Uncache {
                name: "a".into(),
                if_exists: false
            }
        );
        assert!(split_statements("SELECT 'open").is_err());
    }
}
