package opensearch

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// Index settings and cluster health: a replica is a copy of a shard on another
// node, so a domain of N data nodes holds at most N-1 replicas of each shard; the
// rest stay unassigned and the cluster is yellow
// (https://docs.opensearch.org/latest/api-reference/cluster-api/cluster-health/,
// https://docs.aws.amazon.com/opensearch-service/latest/developerguide/handling-errors.html#handling-errors-yellow-cluster-status).

// SetDataNodes sets the domain's data node count, as the template's
// ClusterConfig.InstanceCount gives it (1 when unset): it decides which replicas can
// be assigned, and so the health the domain reports.
func (d *Domain) SetDataNodes(n int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.nodes = max(n, 1)
}

func (d *Domain) dataNodes() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return max(d.nodes, 1)
}

// assigned is how many of an index's replicas the domain's nodes can hold.
func (d *Domain) assigned(replicas int) int { return min(replicas, d.dataNodes()-1) }

// getSettings: GET /<index>/_settings, the index's settings as OpenSearch nests them
// (numbers as strings).
func (d *Domain) getSettings(rq *request) error {
	ix, err := d.index(rq.parts[0])
	if err != nil {
		return err
	}
	meta := ix.metaCopy()
	writeJSON(rq.w, http.StatusOK, map[string]any{ix.name: map[string]any{"settings": map[string]any{"index": map[string]any{
		"number_of_shards":   "1",
		"number_of_replicas": strconv.Itoa(meta.Replicas),
		"uuid":               meta.UUID,
		"creation_date":      strconv.FormatInt(meta.Created, 10),
		"provided_name":      ix.name,
	}}}})
	return nil
}

// putSettings: PUT /<index>/_settings with {"index": {"number_of_replicas": N}} (or
// dotted): the one dynamic setting the subset keeps. number_of_shards is a final
// setting, as in OpenSearch; any other is outside the subset.
func (d *Domain) putSettings(rq *request) error {
	ix, err := d.index(rq.parts[0])
	if err != nil {
		return err
	}
	body, err := objectOf(rq.body, "the request body")
	if err != nil {
		return err
	}
	raw := rq.body
	if s, ok := body["settings"]; ok && len(body) == 1 {
		raw = s
	}
	flat := map[string]json.RawMessage{}
	if err := flatten(raw, "", flat); err != nil {
		return err
	}
	if len(flat) == 0 {
		return illegalArgument("no settings to update")
	}
	replicas := -1
	for k, v := range flat {
		switch name := strings.TrimPrefix(k, "index."); name {
		case "number_of_replicas":
			n, err := strconv.Atoi(strings.Trim(string(v), `"`))
			if err != nil || n < 0 {
				return illegalArgument("Failed to parse value [%s] for setting [index.number_of_replicas] must be >= 0", v)
			}
			replicas = n
		case "number_of_shards":
			return illegalArgument("final %s setting [index.number_of_shards], not updateable", ix.name)
		default:
			return unsupported("the index setting [%s] is", k)
		}
	}
	if err := ix.setReplicas(replicas); err != nil {
		return err
	}
	writeJSON(rq.w, http.StatusOK, map[string]any{"acknowledged": true})
	return nil
}

// health: GET /_cluster/health[/<index>]: green when every replica is assigned,
// yellow when the nodes cannot hold them all (OpenSearch never puts a replica on its
// primary's node). The twin's shards are always started: never red.
func (d *Domain) health(rq *request) error {
	var names []string
	if len(rq.parts) == 3 {
		if _, err := d.index(rq.parts[2]); err != nil {
			return err
		}
		names = []string{rq.parts[2]}
	} else {
		d.mu.Lock()
		for n := range d.indexes {
			names = append(names, n)
		}
		d.mu.Unlock()
	}
	slices.Sort(names)
	primaries, active, unassigned := 0, 0, 0
	for _, n := range names {
		ix, err := d.index(n)
		if err != nil {
			continue // deleted meanwhile
		}
		r := ix.metaCopy().Replicas
		a := d.assigned(r)
		primaries++
		active += 1 + a
		unassigned += r - a
	}
	status := "green"
	if unassigned > 0 {
		status = "yellow"
	}
	pct := 100.0
	if total := active + unassigned; total > 0 {
		pct = 100 * float64(active) / float64(total)
	}
	nodes := d.dataNodes()
	writeJSON(rq.w, http.StatusOK, map[string]any{
		"cluster_name": d.clusterName(), "status": status, "timed_out": false,
		"number_of_nodes": nodes, "number_of_data_nodes": nodes, "discovered_master": true,
		"active_primary_shards": primaries, "active_shards": active, "relocating_shards": 0,
		"initializing_shards": 0, "unassigned_shards": unassigned, "delayed_unassigned_shards": 0,
		"number_of_pending_tasks": 0, "number_of_in_flight_fetch": 0, "task_max_waiting_in_queue_millis": 0,
		"active_shards_percent_as_number": pct,
	})
	return nil
}

// clusterName is "<account>:<domain>", as Amazon OpenSearch Service names a domain's
// cluster; the twin knows the domain by its path.
func (d *Domain) clusterName() string {
	return fmt.Sprintf("000000000000:%s", d.prefix[strings.LastIndex(d.prefix, "/")+1:])
}
