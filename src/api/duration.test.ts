import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  durationPattern,
  formatDuration,
  gitRepositoryTimeoutOf,
  parseDuration,
  retryIntervalOf,
  timeoutOf,
  humanDuration,
} from './duration.ts';

describe('parseDuration', () => {
  const cases: [string, number][] = [
    ['1m30s', 90_000],
    ['1.5h', 5_400_000],
    ['500ms', 500],
    ['60m', 3_600_000],
    ['1h0m0s', 3_600_000],
    ['0.5s', 500],
    ['2h45m', 9_900_000],
    ['1.2345s', 1234.5],
    ['10s', 10_000],
    ['0s', 0],
    ['1m1ms', 60_001],
  ];
  for (const [text, ms] of cases) {
    it(`reads ${text} as ${ms}ms`, () => assert.equal(parseDuration(text), ms));
  }

  for (const bad of [
    '5 minutes',
    '',
    '1d',
    '-1s',
    '1',
    '1m30',
    '.5s',
    '1.s',
    '1h 30m',
    ' 1m',
    '1us',
    '1ns',
  ]) {
    it(`rejects ${JSON.stringify(bad)}, as the CRD pattern does`, () => {
      assert.equal(new RegExp(durationPattern).test(bad), false);
      assert.throws(() => parseDuration(bad), /invalid duration/);
    });
  }

  it('names the field and the value, and says what to write instead', () => {
    assert.throws(
      () => parseDuration('5 minutes', 'spec.interval'),
      (error: Error) => {
        assert.match(error.message, /^invalid spec\.interval "5 minutes": /);
        assert.match(error.message, /write a Go duration such as 30s, 5m, 1h30m/);
        return true;
      },
    );
  });

  it('rejects a duration longer than Go can hold', () => {
    assert.throws(() => parseDuration('2562048h'), /longer than the longest Go duration/);
    assert.equal(parseDuration('2562047h'), 2562047 * 3_600_000);
  });
});

describe('formatDuration prints like Go time.Duration.String()', () => {
  const cases: [number, string][] = [
    [0, '0s'],
    [30_000, '30s'],
    [300_000, '5m0s'],
    [3_570_000, '59m30s'],
    [1200, '1.2s'],
    [3_600_000, '1h0m0s'],
    [30_004, '30.004s'],
    [500, '500ms'],
    [1.5, '1.5ms'],
    [0.0015, '1.5µs'],
    [0.000_001, '1ns'],
    [90_061_001, '25h1m1.001s'],
    [60_000, '1m0s'],
    [-1500, '-1.5s'],
    [1234.5, '1.2345s'],
  ];
  for (const [ms, text] of cases) {
    it(`prints ${ms}ms as ${text}`, () => assert.equal(formatDuration(ms), text));
  }

  it('round-trips what parseDuration reads', () => {
    for (const text of ['59m30s', '5m0s', '1.2s', '1h0m0s', '500ms', '25h1m1.001s']) {
      assert.equal(formatDuration(parseDuration(text)), text);
    }
  });

  it('refuses what is not a finite number', () => {
    assert.throws(() => formatDuration(Number.NaN), /cannot format NaN as a duration/);
  });
});

describe('Kustomization timeout and retry defaults', () => {
  it('takes interval − 30s when timeout is unset: 60m → 59m30s', () => {
    assert.equal(formatDuration(timeoutOf({ interval: '60m' })), '59m30s');
  });

  it('floors an explicit timeout at 30s: 10s → 30s', () => {
    assert.equal(formatDuration(timeoutOf({ interval: '60m', timeout: '10s' })), '30s');
  });

  it('floors the derived timeout at 30s: interval 1m → 30s', () => {
    assert.equal(formatDuration(timeoutOf({ interval: '1m' })), '30s');
    assert.equal(formatDuration(timeoutOf({ interval: '10s' })), '30s');
  });

  it('keeps an explicit timeout above the floor: 5m → 5m0s', () => {
    assert.equal(formatDuration(timeoutOf({ interval: '60m', timeout: '5m' })), '5m0s');
  });

  it('retries after interval unless retryInterval is set', () => {
    assert.equal(retryIntervalOf({ interval: '60m' }), 3_600_000);
    assert.equal(retryIntervalOf({ interval: '60m', retryInterval: '2m' }), 120_000);
  });

  it('names the field whose value is bad', () => {
    assert.throws(() => timeoutOf({ interval: '1 hour' }), /invalid spec\.interval "1 hour"/);
    assert.throws(() => timeoutOf({ interval: '1h', timeout: '1 hour' }), /invalid spec\.timeout "1 hour"/);
    assert.throws(
      () => retryIntervalOf({ interval: '1h', retryInterval: 'x' }),
      /invalid spec\.retryInterval "x"/,
    );
  });
});

describe('GitRepository timeout default', () => {
  it('is 60s unless spec.timeout is set', () => {
    assert.equal(gitRepositoryTimeoutOf({}), 60_000);
    assert.equal(gitRepositoryTimeoutOf({ timeout: '2m' }), 120_000);
  });
});

describe('humanDuration', () => {
  it("rounds ages as Kubernetes' HumanDuration does", () => {
    const s = 1000;
    const cases: [number, string][] = [
      [-3 * s, '<invalid>'],
      [-1 * s, '0s'],
      [0, '0s'],
      [119 * s, '119s'],
      [120 * s, '2m'],
      [125 * s, '2m5s'],
      [10 * 60 * s, '10m'],
      [179 * 60 * s, '179m'],
      [3 * 3600 * s, '3h'],
      [(3 * 3600 + 20 * 60) * s, '3h20m'],
      [8 * 3600 * s, '8h'],
      [47 * 3600 * s, '47h'],
      [(2 * 24 + 5) * 3600 * s, '2d5h'],
      [3 * 24 * 3600 * s, '3d'],
      [30 * 24 * 3600 * s, '30d'],
      [(2 * 365 + 3) * 24 * 3600 * s, '2y3d'],
      [9 * 365 * 24 * 3600 * s, '9y'],
    ];
    for (const [ms, expected] of cases) assert.equal(humanDuration(ms), expected, `${ms}ms`);
  });
});
