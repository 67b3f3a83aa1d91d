use std::time::{Duration, Instant};

use super::*;
use crate::error::Code;

fn budget(reads: u32, window_ms: u64, wait_ms: u64) -> TenantBudget {
    let mut config = BudgetConfig::defaults();
    config.tenant_read_budget = reads;
    config.tenant_budget_window = Duration::from_millis(window_ms);
    config.graph_budget_wait = Duration::from_millis(wait_ms);
    TenantBudget::new(&config, None)
}

fn far() -> Instant {
    Instant::now() + Duration::from_secs(60)
}

fn retry_after(error: &Error) -> f64 {
    match error {
        Error::Upstream { detail, .. } => detail.retry_after.expect("a retryAfter").as_secs_f64(),
        other => panic!("not an upstream error: {other:?}"),
    }
}

#[tokio::test]
async fn an_empty_bucket_refuses_at_once_with_when_it_will_have_room() {
    let budget = budget(2, 20_000, 200);
    for _ in 0..2 {
        budget
            .acquire("t", false, 1, Priority::Interactive, far())
            .await
            .expect("room");
    }
    let started = Instant::now();
    let error = budget
        .acquire("t", false, 1, Priority::Interactive, far())
        .await
        .expect_err("no room for 20 s");
    assert_eq!(error.code(), Code::Throttled);
    let seconds = retry_after(&error);
    assert!((19.0..=20.0).contains(&seconds), "{seconds}");
    assert!(error.to_string().contains("2 requests per 20s"), "{error}");
    assert!(
        started.elapsed() < Duration::from_millis(100),
        "no hopeless wait"
    );
    // Another tenant is not affected.
    budget
        .acquire("u", false, 1, Priority::Interactive, far())
        .await
        .expect("its own budget");
}

#[tokio::test]
async fn a_request_waits_in_line_until_the_window_frees_a_slot() {
    let budget = budget(1, 1_000, 2_000);
    budget
        .acquire("t", false, 1, Priority::Interactive, far())
        .await
        .expect("room");
    let waited = budget
        .acquire("t", false, 1, Priority::Interactive, far())
        .await
        .expect("room after the window");
    assert!(waited >= Duration::from_millis(900), "{waited:?}");
    // The call's own deadline cuts the wait short.
    let error = budget
        .acquire(
            "t",
            false,
            1,
            Priority::Interactive,
            Instant::now() + Duration::from_millis(50),
        )
        .await
        .expect_err("deadline before room");
    assert_eq!(error.code(), Code::Throttled);
}

#[tokio::test]
async fn pollers_get_only_their_share_and_people_the_rest() {
    let budget = budget(4, 20_000, 100);
    for _ in 0..2 {
        budget
            .acquire("t", false, 1, Priority::Poller, far())
            .await
            .expect("within the poller share");
    }
    let error = budget
        .acquire("t", false, 1, Priority::Poller, far())
        .await
        .expect_err("share spent");
    assert_eq!(error.code(), Code::Throttled);
    for _ in 0..2 {
        budget
            .acquire("t", false, 1, Priority::Interactive, far())
            .await
            .expect("people still have room");
    }
}

#[tokio::test]
async fn a_waiting_person_gets_the_freed_slot_before_a_poller() {
    let budget = Arc::new(budget(1, 1_000, 1_500));
    budget
        .acquire("t", false, 1, Priority::Interactive, far())
        .await
        .expect("room");
    let person = {
        let budget = Arc::clone(&budget);
        tokio::spawn(async move {
            budget
                .acquire("t", false, 1, Priority::Interactive, far())
                .await
        })
    };
    // The person is in line (counted) before the poller asks.
    while budget.line("t").people_waiting.load(Ordering::SeqCst) == 0 {
        tokio::task::yield_now().await;
    }
    let poller = budget.acquire("t", false, 1, Priority::Poller, far()).await;
    assert!(
        person.await.expect("joined").is_ok(),
        "the person got the slot"
    );
    assert!(poller.is_err(), "the poller stood aside: {poller:?}");
}

#[tokio::test]
async fn a_pause_holds_every_request_of_the_tenant() {
    let budget = budget(100, 20_000, 2_000);
    budget.pause("t", Duration::from_millis(300)).await;
    let waited = budget
        .acquire("t", false, 1, Priority::Interactive, far())
        .await
        .expect("after the pause");
    assert!(waited >= Duration::from_millis(280), "{waited:?}");
    budget
        .acquire("u", false, 1, Priority::Interactive, far())
        .await
        .expect("another tenant is not paused");

    budget.pause("t", Duration::from_secs(30)).await;
    let error = budget
        .acquire("t", false, 1, Priority::Poller, far())
        .await
        .expect_err("paused beyond the wait");
    assert!(retry_after(&error) > 29.0);
}

#[tokio::test]
async fn writes_take_from_both_budgets() {
    let mut config = BudgetConfig::defaults();
    config.tenant_read_budget = 3;
    config.tenant_write_budget = 1;
    config.graph_budget_wait = Duration::ZERO;
    let budget = TenantBudget::new(&config, None);
    budget
        .acquire("t", true, 1, Priority::Interactive, far())
        .await
        .expect("a write");
    let error = budget
        .acquire("t", true, 1, Priority::Interactive, far())
        .await
        .expect_err("one write per window");
    assert!(error.to_string().contains("1 writes per 20s"), "{error}");
    budget
        .acquire("t", false, 2, Priority::Interactive, far())
        .await
        .expect("two reads left");
    assert!(
        budget
            .acquire("t", false, 1, Priority::Interactive, far())
            .await
            .is_err(),
        "the write counted among all requests"
    );
}

#[test]
fn the_tenant_is_the_flag_else_a_vouched_tid_else_the_token() {
    use base64::Engine as _;
    let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(r#"{"tid":"t1"}"#);
    let token = BearerToken::from_authorization(&format!("Bearer h.{payload}.s")).unwrap();
    let vouched = Vouched::default();
    let budget = budget(1, 1_000, 0);
    let unvouched = budget.tenant_of(Some(&token), &vouched);
    assert_eq!(
        unvouched,
        format!("token:{}", identity::fingerprint(&token))
    );
    vouched.record(&token);
    assert_eq!(budget.tenant_of(Some(&token), &vouched), "tid:t1");
    let mut config = BudgetConfig::defaults();
    config.tenant_id = Some("fixed".into());
    let fixed = TenantBudget::new(&config, None);
    assert_eq!(
        fixed.tenant_of(Some(&token), &Vouched::default()),
        "tid:fixed"
    );
}
