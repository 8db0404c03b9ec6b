//! A few hundred fuzz cases of each target in every test run (the `fuzz` bench runs many
//! more): no panic, every rejection a typed error, and the properties each target checks.

use proptest::collection::vec;
use proptest::prelude::*;
use spud_tests::fuzz::{
    self, AuditTarget, McpTarget, PlanTarget, PolicyTarget, SchemaTarget, Target, Verdict,
};

fn holds(target: &mut dyn Target, bytes: &[u8]) -> Result<(), TestCaseError> {
    let r = fuzz::one(target, bytes);
    prop_assert!(
        matches!(r, Ok(Verdict::Accepted | Verdict::Rejected)),
        "{}: {r:?}",
        target.name()
    );
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn policy_parser(bytes in vec(any::<u8>(), 16..2048)) {
        holds(&mut PolicyTarget::new(), &bytes)?;
    }

    #[test]
    fn plan_parser(bytes in vec(any::<u8>(), 16..2048)) {
        holds(&mut PlanTarget::new(), &bytes)?;
    }

    #[test]
    fn json_to_wit_values(bytes in vec(any::<u8>(), 16..2048)) {
        holds(&mut SchemaTarget, &bytes)?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn audit_verifier_on_mutated_logs(bytes in vec(any::<u8>(), 16..1024)) {
        holds(&mut AuditTarget::new().expect("seed log"), &bytes)?;
    }
}

#[test]
fn mcp_requests_through_spud_serve() {
    let mut target = McpTarget::new().expect("a home with json registered");
    let tally = fuzz::run(&mut target, 150, 7, 1024);
    assert!(
        tally.clean(),
        "{}\n{:#?}\n{:#?}",
        tally.line(),
        tally.panics,
        tally.violations
    );
    assert_eq!(tally.cases, 150);
}

#[test]
fn the_harness_catches_panics() {
    struct Panics;
    impl Target for Panics {
        fn name(&self) -> &'static str {
            "panics"
        }
        fn case(&mut self, u: &mut arbitrary::Unstructured<'_>) -> arbitrary::Result<Verdict> {
            let n: u8 = u.arbitrary()?;
            assert!(n < 128, "n = {n}");
            Ok(Verdict::Accepted)
        }
    }
    let tally = fuzz::run(&mut Panics, 100, 1, 64);
    assert_eq!(tally.cases, 100);
    assert!(
        !tally.panics.is_empty() && tally.accepted > 0,
        "{}",
        tally.line()
    );
    assert!(tally.panics[0].contains("n = "), "{}", tally.panics[0]);
}
