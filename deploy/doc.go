// Package deploy holds what an operator needs to run mailproof, and tests that keep those
// files true to the code. It has no Go API; the files are the product:
//
//   - action/: the Auth0 post-login Action (its own package and Node tests).
//   - k8s/: Kustomize base: Deployment (2 replicas, secrets mounted as files and read
//     through the *_FILE variables, probes on the ops port), the receiver Service, the
//     cluster-internal mailproof-ops Service for scraping, ConfigMap, Secret template,
//     PodDisruptionBudget and NetworkPolicy. Namespace-agnostic; Redis not included.
//   - prometheus/: alerting rules with runbooks, their promtool unit tests, and a
//     ServiceMonitor for the Prometheus Operator.
//   - grafana/: a dashboard for Grafana 10 and later, datasource chosen on import.
//   - compose/: Redis plus mailproof built from the repository, for one machine.
//
// The tests parse every file (a YAML subset parser lives in yaml_test.go, because the
// module carries no YAML library), run the manifests' environment through
// server.LoadConfig, check every metric, label and label value a query names against the
// declarations in handlers/, server/ and proof/, and run promtool when it is installed.
package deploy
