//! Rate limits: [`SharedLimits`] on Redis, one GCRA cell per limit, run by
//! a Lua script on the server's clock, so the limit does not depend on the
//! replicas' clocks (a pause, a wall-clock time a replica sends, does).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use nb_breaker::{LeaseAsk, LeaseGrant, LeaseRate, SharedFuture, SharedLimits};

use crate::{RedisStore, millis, unix_ms};

/// How long a limit's key outlives its last lease (its arrival time is in
/// the past by then, so the limit is idle and the key says nothing).
const IDLE_FOR_MS: u64 = 60_000;

/// The GCRA step: hand back `refund` units, apply a pause, then admit as
/// many of `want` units as fit. The cell is the theoretical arrival time,
/// in microseconds on the server's clock. Returns the units granted and
/// the microseconds until one more fits after them (zero: the fleet has
/// room now).
const LEASE: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local unit = tonumber(ARGV[1])
local horizon = tonumber(ARGV[2])
local want = tonumber(ARGV[3])
local refund = tonumber(ARGV[4])
local pause = tonumber(ARGV[5])
local idle = tonumber(ARGV[6])
local tat = tonumber(redis.call('GET', KEYS[1]) or '') or now
tat = tat - refund * unit
if pause > 0 then
  tat = math.max(tat, pause + horizon - unit)
end
tat = math.max(tat, now)
local granted = math.floor((now + horizon - tat) / unit)
granted = math.max(0, math.min(granted, want))
tat = tat + granted * unit
local next_in = math.max(0, math.ceil(tat + unit - now - horizon))
redis.call('SET', KEYS[1], string.format('%.0f', tat), 'PX', math.ceil((tat - now) / 1000) + idle)
return {granted, next_in}
";

fn micros_since_epoch(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX))
}

impl SharedLimits for RedisStore {
    fn lease(&self, key: &str, rate: LeaseRate, ask: LeaseAsk) -> SharedFuture<'_, LeaseGrant> {
        // Microseconds of the limit one unit takes; fractional for a rate
        // that does not divide a minute.
        let unit = 60_000_000.0 / rate.per_minute.max(1) as f64;
        let horizon = unit * rate.burst.max(1) as f64;
        let mut command = redis::cmd("EVAL");
        command
            .arg(LEASE)
            .arg(1)
            .arg(self.key("limit", key))
            .arg(unit)
            .arg(horizon)
            .arg(ask.want)
            .arg(ask.refund)
            .arg(ask.pause_until.map_or(0, micros_since_epoch))
            .arg(IDLE_FOR_MS);
        Box::pin(async move {
            let (granted, next_in): (u64, u64) = self.run(command).await?;
            Ok(LeaseGrant {
                granted,
                next_in: Duration::from_micros(next_in),
            })
        })
    }

    fn pause(&self, target: &str, until: SystemTime) -> SharedFuture<'_, ()> {
        let paused_for = until.duration_since(SystemTime::now()).unwrap_or_default();
        let mut command = redis::cmd("SET");
        command
            .arg(self.key("pause", target))
            .arg(unix_ms(until))
            .arg("PX")
            .arg(millis(paused_for));
        Box::pin(async move { self.run::<()>(command).await })
    }

    fn pauses(&self, targets: &[String]) -> SharedFuture<'_, Vec<(String, SystemTime)>> {
        let targets = targets.to_vec();
        Box::pin(async move {
            let values = self.values("pause", &targets).await?;
            let now = SystemTime::now();
            Ok(targets
                .into_iter()
                .zip(values)
                .filter_map(|(target, value)| {
                    // A value this version cannot read is no pause.
                    let ms: u64 = value?.parse().ok()?;
                    let until = UNIX_EPOCH + Duration::from_millis(ms);
                    (until > now).then_some((target, until))
                })
                .collect())
        })
    }
}
