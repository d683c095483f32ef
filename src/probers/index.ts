// The registry of probe kinds: the only place that knows them all. A new kind adds a file here and one line below.
import type { Prober } from './types.js';
import { httpProber } from './http.js';
import { tcpProber } from './tcp.js';
import { prometheusQueryProber } from './prometheusQuery.js';
import { tempoSearchProber } from './tempoSearch.js';
import { tempoReadyProber } from './tempoReady.js';
import { otlpCanaryProber } from './otlpCanary.js';
import { prometheusRulesProber } from './prometheusRules.js';
import { prometheusTargetsProber } from './prometheusTargets.js';
import { alertmanagerStatusProber } from './alertmanagerStatus.js';
import { containerMemoryProber } from './containerMemory.js';
import { containerEnvProber } from './containerEnv.js';
import { alertPathProber } from './alertPath.js';
import { deadRulesProber } from './deadRules.js';
import { otlpGrpcProber } from './otlpGrpc.js';
import { containerStateProber } from './containerState.js';
import { tempoStorageProber } from './tempoStorage.js';
import { spanMetricsPathProber } from './spanMetricsPath.js';
import { stackConfigProber } from './stackConfig.js';
import { dashboardsProber } from './dashboards.js';

export const probers: Readonly<Record<string, Prober>> = {
  http: httpProber,
  tcp: tcpProber,
  prometheus_query: prometheusQueryProber,
  tempo_search: tempoSearchProber,
  tempo_ready: tempoReadyProber,
  otlp_canary: otlpCanaryProber,
  prometheus_rules: prometheusRulesProber,
  prometheus_targets: prometheusTargetsProber,
  alertmanager_status: alertmanagerStatusProber,
  container_memory: containerMemoryProber,
  container_env: containerEnvProber,
  alert_path: alertPathProber,
  dead_rules: deadRulesProber,
  otlp_grpc: otlpGrpcProber,
  container_state: containerStateProber,
  tempo_storage: tempoStorageProber,
  span_metrics_path: spanMetricsPathProber,
  stack_config: stackConfigProber,
  dashboards: dashboardsProber,
};

export function proberFor(kind: string): Prober | undefined {
  return Object.hasOwn(probers, kind) ? probers[kind] : undefined;
}
