-- clickhouse.sql — spanwatch's tables in ClickHouse (SPEC "Beyond one
-- machine: ClickHouse"). The sensor runs exactly this text (it is built
-- into the binary) in the database of [clickhouse] database, statement by
-- statement, when it first reaches the server; every statement is
-- IF NOT EXISTS, so running it again changes nothing.
--
-- By hand, on one server (ClickHouse 18.16 or later):
--   clickhouse-client -q 'CREATE DATABASE IF NOT EXISTS spanwatch'
--   clickhouse-client -d spanwatch --multiquery < clickhouse.sql
-- On a cluster, see README ("ClickHouse"): add ON CLUSTER, make the
-- engines Replicated*, and put Distributed tables in front.
--
-- Amounts are per step (bytes, flows, ... in the step that ends at ts),
-- never rates: sum() over any span is the traffic of that span. `batch`
-- names the insert a row came with: one number per (sensor, step) batch,
-- kept with the batch in the sensor's spool, so that a batch sent again
-- after a timeout is recognised (the sensor asks for it before resending)
-- and never counted twice.

CREATE TABLE IF NOT EXISTS subscriber_steps (
	sensor String,
	subscriber String,
	ts DateTime,
	batch UInt64,
	bytes_in UInt64,
	bytes_out UInt64,
	bt_in UInt64,
	bt_out UInt64,
	bt_allow_in UInt64,
	bt_allow_out UInt64,
	p2p_in UInt64,
	p2p_out UInt64,
	smtp_direct UInt64,
	smtp_unauth UInt64,
	smtp_tls UInt64,
	smtp_rcpt UInt64,
	smtp_spfpass UInt64,
	flows UInt64
) ENGINE = MergeTree
PARTITION BY toYYYYMM(ts)
ORDER BY (sensor, ts, subscriber);

-- flows_active is a gauge (flows open at the step's end), the rest are
-- amounts.
CREATE TABLE IF NOT EXISTS sensor_steps (
	sensor String,
	ts DateTime,
	batch UInt64,
	packets UInt64,
	bytes UInt64,
	drops UInt64,
	flows_new UInt64,
	flows_active UInt64,
	unknown_bytes UInt64,
	bt_bytes UInt64,
	smtp_sess UInt64,
	alerts UInt64
) ENGINE = MergeTree
PARTITION BY toYYYYMM(ts)
ORDER BY (sensor, ts);

-- One row per alert as in the JSON alerts file: ts is the alert's packet
-- time, subscriber '' for sensor-wide alerts, the alert's own fields
-- (which depend on its kind) as two arrays of the same length, numbers
-- and addresses written as in JSON.
CREATE TABLE IF NOT EXISTS alerts (
	sensor String,
	ts DateTime,
	alert String,
	subscriber String,
	suppressed UInt64,
	field_names Array(String),
	field_values Array(String),
	batch UInt64
) ENGINE = MergeTree
PARTITION BY toYYYYMM(ts)
ORDER BY (sensor, ts, alert);

-- Roll-ups: SummingMergeTree adds up rows of the same key as it merges,
-- so query them with sum() ... GROUP BY (a merge may not have happened
-- yet). `steps` counts the step rows behind a row.
CREATE TABLE IF NOT EXISTS subscriber_hours (
	sensor String,
	subscriber String,
	hour DateTime,
	steps UInt64,
	bytes_in UInt64,
	bytes_out UInt64,
	bt_in UInt64,
	bt_out UInt64,
	bt_allow_in UInt64,
	bt_allow_out UInt64,
	p2p_in UInt64,
	p2p_out UInt64,
	smtp_direct UInt64,
	smtp_unauth UInt64,
	smtp_tls UInt64,
	smtp_rcpt UInt64,
	smtp_spfpass UInt64,
	flows UInt64
) ENGINE = SummingMergeTree
PARTITION BY toYYYYMM(hour)
ORDER BY (sensor, subscriber, hour);

CREATE MATERIALIZED VIEW IF NOT EXISTS subscriber_hours_mv TO subscriber_hours AS
SELECT sensor, subscriber, toStartOfHour(ts) AS hour, count() AS steps,
	sum(bytes_in) AS bytes_in, sum(bytes_out) AS bytes_out,
	sum(bt_in) AS bt_in, sum(bt_out) AS bt_out,
	sum(bt_allow_in) AS bt_allow_in, sum(bt_allow_out) AS bt_allow_out,
	sum(p2p_in) AS p2p_in, sum(p2p_out) AS p2p_out,
	sum(smtp_direct) AS smtp_direct, sum(smtp_unauth) AS smtp_unauth,
	sum(smtp_tls) AS smtp_tls, sum(smtp_rcpt) AS smtp_rcpt,
	sum(smtp_spfpass) AS smtp_spfpass, sum(flows) AS flows
FROM subscriber_steps
GROUP BY sensor, subscriber, hour;

CREATE TABLE IF NOT EXISTS subscriber_days (
	sensor String,
	subscriber String,
	day Date,
	steps UInt64,
	bytes_in UInt64,
	bytes_out UInt64,
	bt_in UInt64,
	bt_out UInt64,
	bt_allow_in UInt64,
	bt_allow_out UInt64,
	p2p_in UInt64,
	p2p_out UInt64,
	smtp_direct UInt64,
	smtp_unauth UInt64,
	smtp_tls UInt64,
	smtp_rcpt UInt64,
	smtp_spfpass UInt64,
	flows UInt64
) ENGINE = SummingMergeTree
PARTITION BY toYear(day)
ORDER BY (sensor, subscriber, day);

CREATE MATERIALIZED VIEW IF NOT EXISTS subscriber_days_mv TO subscriber_days AS
SELECT sensor, subscriber, toDate(ts) AS day, count() AS steps,
	sum(bytes_in) AS bytes_in, sum(bytes_out) AS bytes_out,
	sum(bt_in) AS bt_in, sum(bt_out) AS bt_out,
	sum(bt_allow_in) AS bt_allow_in, sum(bt_allow_out) AS bt_allow_out,
	sum(p2p_in) AS p2p_in, sum(p2p_out) AS p2p_out,
	sum(smtp_direct) AS smtp_direct, sum(smtp_unauth) AS smtp_unauth,
	sum(smtp_tls) AS smtp_tls, sum(smtp_rcpt) AS smtp_rcpt,
	sum(smtp_spfpass) AS smtp_spfpass, sum(flows) AS flows
FROM subscriber_steps
GROUP BY sensor, subscriber, day;

-- The sensor's roll-ups leave out the gauge flows_active (a sum of it
-- means nothing): the steps table has it.
CREATE TABLE IF NOT EXISTS sensor_hours (
	sensor String,
	hour DateTime,
	steps UInt64,
	packets UInt64,
	bytes UInt64,
	drops UInt64,
	flows_new UInt64,
	unknown_bytes UInt64,
	bt_bytes UInt64,
	smtp_sess UInt64,
	alerts UInt64
) ENGINE = SummingMergeTree
PARTITION BY toYYYYMM(hour)
ORDER BY (sensor, hour);

CREATE MATERIALIZED VIEW IF NOT EXISTS sensor_hours_mv TO sensor_hours AS
SELECT sensor, toStartOfHour(ts) AS hour, count() AS steps,
	sum(packets) AS packets, sum(bytes) AS bytes, sum(drops) AS drops,
	sum(flows_new) AS flows_new, sum(unknown_bytes) AS unknown_bytes,
	sum(bt_bytes) AS bt_bytes, sum(smtp_sess) AS smtp_sess,
	sum(alerts) AS alerts
FROM sensor_steps
GROUP BY sensor, hour;

CREATE TABLE IF NOT EXISTS sensor_days (
	sensor String,
	day Date,
	steps UInt64,
	packets UInt64,
	bytes UInt64,
	drops UInt64,
	flows_new UInt64,
	unknown_bytes UInt64,
	bt_bytes UInt64,
	smtp_sess UInt64,
	alerts UInt64
) ENGINE = SummingMergeTree
PARTITION BY toYear(day)
ORDER BY (sensor, day);

CREATE MATERIALIZED VIEW IF NOT EXISTS sensor_days_mv TO sensor_days AS
SELECT sensor, toDate(ts) AS day, count() AS steps,
	sum(packets) AS packets, sum(bytes) AS bytes, sum(drops) AS drops,
	sum(flows_new) AS flows_new, sum(unknown_bytes) AS unknown_bytes,
	sum(bt_bytes) AS bt_bytes, sum(smtp_sess) AS smtp_sess,
	sum(alerts) AS alerts
FROM sensor_steps
GROUP BY sensor, day;
