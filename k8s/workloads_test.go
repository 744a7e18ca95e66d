package k8s_test

import (
	"fmt"
	"slices"
	"sort"

	corev1 "k8s.io/api/core/v1"
)

// workload is a pod template of a Deployment, StatefulSet or Job.
type workload struct {
	kind, name  string
	labels      map[string]string
	spec        *corev1.PodSpec
	longRunning bool     // Deployments and StatefulSets, not Jobs
	claims      []string // volumeClaimTemplates of a StatefulSet
	serviceName string   // a StatefulSet's governing Service
}

func (r *rendered) workloads() []workload {
	var ws []workload
	for _, d := range r.deployments {
		ws = append(ws, workload{kind: "Deployment", name: d.Name, labels: d.Spec.Template.Labels, spec: &d.Spec.Template.Spec, longRunning: true})
	}
	for _, s := range r.statefulSets {
		w := workload{kind: "StatefulSet", name: s.Name, labels: s.Spec.Template.Labels, spec: &s.Spec.Template.Spec, longRunning: true, serviceName: s.Spec.ServiceName}
		for _, c := range s.Spec.VolumeClaimTemplates {
			w.claims = append(w.claims, c.Name)
		}
		ws = append(ws, w)
	}
	for _, j := range r.jobs {
		ws = append(ws, workload{kind: "Job", name: j.Name, labels: j.Spec.Template.Labels, spec: &j.Spec.Template.Spec})
	}
	return ws
}

func (w workload) String() string { return w.kind + "/" + w.name }

// containers are the workload's init and regular containers.
func (w workload) containers() []*corev1.Container {
	var cs []*corev1.Container
	for i := range w.spec.InitContainers {
		cs = append(cs, &w.spec.InitContainers[i])
	}
	for i := range w.spec.Containers {
		cs = append(cs, &w.spec.Containers[i])
	}
	return cs
}

// isExternal says whether the overlay leaves kind/name to the operator.
func (r *rendered) isExternal(kind, name string) bool {
	return slices.Contains(externalObjects[r.dir], kind+"/"+name)
}

// configValue looks a key up in a ConfigMap or Secret of the render; found
// is false when the object or key is missing; external when the object is
// the operator's.
func (r *rendered) configValue(kind, name, key string) (value string, found, external bool) {
	switch kind {
	case "ConfigMap":
		for _, c := range r.configMaps {
			if c.Name == name {
				v, ok := c.Data[key]
				return v, ok, false
			}
		}
	case "Secret":
		for _, s := range r.secrets {
			if s.Name == name {
				if v, ok := s.StringData[key]; ok {
					return v, true, false
				}
				v, ok := s.Data[key]
				return string(v), ok, false
			}
		}
	}
	return "", false, r.isExternal(kind, name)
}

// configKeys lists the keys of a ConfigMap or Secret of the render.
func (r *rendered) configKeys(kind, name string) (keys []string, found bool) {
	switch kind {
	case "ConfigMap":
		for _, c := range r.configMaps {
			if c.Name == name {
				for k := range c.Data {
					keys = append(keys, k)
				}
				return keys, true
			}
		}
	case "Secret":
		for _, s := range r.secrets {
			if s.Name == name {
				for k := range s.StringData {
					keys = append(keys, k)
				}
				for k := range s.Data {
					keys = append(keys, k)
				}
				return keys, true
			}
		}
	}
	return nil, false
}

// envVar is one environment variable of a container, resolved.
type envVar struct {
	name, value string
	external    bool // its value is in an object the operator creates
}

// containerEnv resolves a container's env and envFrom against the render;
// a reference to a missing object or key is an error.
func (r *rendered) containerEnv(c *corev1.Container) ([]envVar, []error) {
	var vars []envVar
	var errs []error
	for _, from := range c.EnvFrom {
		kind, name := "ConfigMap", ""
		switch {
		case from.ConfigMapRef != nil:
			name = from.ConfigMapRef.Name
		case from.SecretRef != nil:
			kind, name = "Secret", from.SecretRef.Name
		}
		keys, found := r.configKeys(kind, name)
		if !found {
			if !r.isExternal(kind, name) {
				errs = append(errs, fmt.Errorf("envFrom %s %q is not in the render", kind, name))
			}
			continue
		}
		sort.Strings(keys)
		for _, k := range keys {
			v, _, _ := r.configValue(kind, name, k)
			vars = append(vars, envVar{name: from.Prefix + k, value: v})
		}
	}
	for _, e := range c.Env {
		v := envVar{name: e.Name, value: e.Value}
		if e.ValueFrom != nil {
			kind, name, key := "", "", ""
			switch {
			case e.ValueFrom.ConfigMapKeyRef != nil:
				kind, name, key = "ConfigMap", e.ValueFrom.ConfigMapKeyRef.Name, e.ValueFrom.ConfigMapKeyRef.Key
			case e.ValueFrom.SecretKeyRef != nil:
				kind, name, key = "Secret", e.ValueFrom.SecretKeyRef.Name, e.ValueFrom.SecretKeyRef.Key
			default:
				vars = append(vars, v) // the downward API
				continue
			}
			value, found, external := r.configValue(kind, name, key)
			if !found && !external {
				errs = append(errs, fmt.Errorf("env %s: key %q of %s %q is not in the render", e.Name, key, kind, name))
			}
			v.value, v.external = value, external
		}
		vars = append(vars, v)
	}
	return vars, errs
}
