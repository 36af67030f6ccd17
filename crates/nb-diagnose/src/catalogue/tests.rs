use super::*;

#[test]
fn entries_are_well_formed() {
    for e in CATALOGUE {
        assert!(!e.patterns.is_empty(), "{}", e.sub);
        assert!(e.priority >= 10 && e.priority < 100, "{}", e.sub);
        assert!(
            e.sub
                .bytes()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'_'),
            "{} is not snake_case",
            e.sub
        );
        for p in e.patterns {
            assert!(!p.is_empty() && p.len() <= 64, "{p:?}");
            assert_eq!(p.to_lowercase(), *p, "{p:?} must be written lower-case");
        }
    }
}

#[test]
fn no_literal_is_listed_twice() {
    let mut all: Vec<&str> = CATALOGUE
        .iter()
        .flat_map(|e| e.patterns.iter().copied())
        .collect();
    all.sort_unstable();
    let before = all.len();
    all.dedup();
    assert_eq!(before, all.len(), "a literal appears in two entries");
}

#[test]
fn every_category_has_entries_and_unknown_only_this_programs_own() {
    for c in ErrorCategory::ALL {
        assert!(CATALOGUE.iter().any(|e| e.category == c), "{c}");
    }
    // `unknown` names only what this program did, which is nobody's
    // provider to blame: a failure before anything was sent, an error
    // object it could not read, which lost the cause, or its own words
    // put in place of a failure.
    for e in CATALOGUE
        .iter()
        .filter(|e| e.category == ErrorCategory::Unknown)
    {
        assert!(
            matches!(e.sub, LOCAL_SETUP | ERROR_UNREADABLE | CAUSE_HIDDEN),
            "{}",
            e.sub
        );
        assert!(
            e.success_only,
            "{}: read only where no error status came",
            e.sub
        );
    }
}

#[test]
fn an_entry_read_at_the_texts_end_has_no_other_boundary() {
    for e in CATALOGUE.iter().filter(|e| e.last) {
        assert!(!e.word, "{:?}", e.patterns);
    }
}

#[test]
fn sub_names_are_unique_snake_case_and_indexed_in_order() {
    for (i, s) in Sub::ALL.iter().enumerate() {
        assert_eq!(*s as usize, i);
        assert!(
            s.name()
                .bytes()
                .all(|c| c.is_ascii_lowercase() || c == b'_'),
            "{}",
            s.name()
        );
        assert!(Sub::ALL[..i].iter().all(|o| o.name() != s.name()));
    }
}

#[test]
fn statuses_map_to_the_taxonomy() {
    assert_eq!(status_rule(429).map(|r| r.0), Some(RateLimit));
    assert_eq!(status_rule(529).map(|r| r.0), Some(Overloaded));
    assert_eq!(status_rule(504).map(|r| r.0), Some(Timeout));
    assert_eq!(status_rule(418).map(|r| r.0), Some(InvalidRequest));
    assert_eq!(status_rule(599).map(|r| r.0), Some(ServerError));
    assert_eq!(status_rule(200), None);
    assert_eq!(status_rule(302), None);
}
