// kind: prometheus_targets — every target of one scrape job is up. A target Prometheus cannot scrape
// does not make any query fail: its series simply stop, and dashboards go quiet rather than red.
// The target's own lastError says why, so the probe passes it on.
import { Type } from '@sinclair/typebox';
import { HttpUrl } from '../core/fields.js';
import { capped, count } from '../util/text.js';
import { defineProber } from './define.js';
import { failed, passed } from './common.js';
import { jobTargets, prometheusReasons } from './prometheusApi.js';

const reloadStep = 'then reload: curl -X POST http://prometheus:9090/-/reload (needs --web.enable-lifecycle)';

const hints = {
  target_down:
    'Prometheus cannot scrape the target, and lastError says why: "connection refused" means the service or its metrics port is down (docker compose ps, docker logs <container>); ' +
    '"context deadline exceeded" means it answers slower than scrape_timeout; an HTTP 404 means a wrong metrics_path. Check too that the address in scrape_configs resolves from inside the Prometheus container.',
  no_targets:
    'Prometheus has no active target for this job: check that a `job_name` in the `scrape_configs` of prometheus.yml is spelt exactly like this, and that its service discovery finds the service ' +
    `(Status → Service Discovery in the Prometheus UI shows what was found and what relabelling dropped); ${reloadStep}. New targets appear a few seconds after a reload.`,
  too_few_targets:
    'The job has fewer targets than expected: a static_configs entry is missing or service discovery finds fewer instances (Status → Service Discovery in the Prometheus UI shows what was found and what relabelling dropped); ' +
    `fix scrape_configs in prometheus.yml, ${reloadStep}.`,
};

export const prometheusTargetsProber = defineProber({
  fields: Type.Object({
    prometheus: HttpUrl,
    /** The `job` label (normally the scrape config's job_name). */
    job: Type.String({ minLength: 1 }),
    /** Fewest active targets the job must have; default 1. */
    minTargets: Type.Optional(Type.Integer({ minimum: 1 })),
  }),
  reasons: { ...prometheusReasons, ...hints },
  decode: (f) => ({ prometheus: f.prometheus, job: f.job, minTargets: f.minTargets ?? 1 }),
  async run(spec, ctx) {
    const listed = await jobTargets(ctx, spec.prometheus, spec.job);
    if (!listed.ok) return listed.outcome;
    const { targets, jobs } = listed.value;
    const up = targets.filter((t) => t.health === 'up');
    const down = targets.filter((t) => t.health === 'down');
    const details = {
      targets: targets.map((t) => ({ scrapeUrl: t.scrapeUrl, health: t.health, lastError: t.lastError || undefined, lastScrape: t.lastScrape })),
    };

    if (!targets.length) {
      return failed(
        'no_targets',
        `no active target for job "${spec.job}" (jobs with targets: ${
          jobs.length
            ? capped(
                jobs.map((j) => `"${j}"`),
                ', ',
                20,
              )
            : 'none'
        })`,
        hints.no_targets,
        {
          value: 0,
          details: { ...details, jobs },
        },
      );
    }
    if (down.length) {
      const each = down.map((t) => `${t.scrapeUrl ?? t.labels?.instance ?? '(no scrape URL)'}: ${t.lastError || 'no lastError given'}`);
      return failed('target_down', `${down.length} of ${count(targets.length, 'target')} of job "${spec.job}" down: ${capped(each, '; ')}`, hints.target_down, {
        value: up.length,
        details,
      });
    }
    const min = spec.minTargets;
    if (targets.length < min) {
      return failed('too_few_targets', `job "${spec.job}" has ${count(targets.length, 'active target')}, expected at least ${min}`, hints.too_few_targets, { value: up.length, details });
    }
    // "unknown" is a target found but not scraped yet (one scrape interval at most): not a failure.
    const pending = targets.length - up.length;
    const note = pending ? `; ${pending} not scraped yet (health "unknown")` : '';
    return passed(`${up.length} of ${count(targets.length, 'target')} of job "${spec.job}" up${note}`, { value: up.length, details });
  },
});
