package k8s_test

import (
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// TestSkaffold: skaffold.yaml builds the image the manifests name from the
// Dockerfile, deploys the dev overlay, and forwards the site to the origin
// the dev overlay configures.
func TestSkaffold(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(root, "skaffold.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var cfg struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
		Build      struct {
			Artifacts []struct {
				Image  string `json:"image"`
				Docker struct {
					Dockerfile string `json:"dockerfile"`
				} `json:"docker"`
			} `json:"artifacts"`
		} `json:"build"`
		Manifests struct {
			Kustomize struct {
				Paths []string `json:"paths"`
			} `json:"kustomize"`
		} `json:"manifests"`
		PortForward []struct {
			ResourceType string `json:"resourceType"`
			ResourceName string `json:"resourceName"`
			Namespace    string `json:"namespace"`
			Port         int32  `json:"port"`
			LocalPort    int    `json:"localPort"`
		} `json:"portForward"`
	}
	if err := yaml.Unmarshal(data, &cfg); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(cfg.APIVersion, "skaffold/v4") || cfg.Kind != "Config" {
		t.Errorf("skaffold.yaml: apiVersion %q kind %q", cfg.APIVersion, cfg.Kind)
	}
	if len(cfg.Build.Artifacts) != 1 || cfg.Build.Artifacts[0].Image != image || cfg.Build.Artifacts[0].Docker.Dockerfile != "Dockerfile" {
		t.Errorf("skaffold.yaml must build the image %q from Dockerfile: %+v", image, cfg.Build.Artifacts)
	}
	if !slices.Equal(cfg.Manifests.Kustomize.Paths, []string{"k8s/overlays/dev"}) {
		t.Errorf("skaffold.yaml deploys %v, want k8s/overlays/dev", cfg.Manifests.Kustomize.Paths)
	}
	dev := mustRender(t, "overlays/dev")
	origin := dev.chatroomSettings(mustFacts(t))["public-origin"]
	u, err := url.Parse(origin)
	if err != nil || u.Hostname() != "localhost" {
		t.Fatalf("the dev overlay's public origin %q is not on localhost", origin)
	}
	site := false
	for _, pf := range cfg.PortForward {
		if fmt.Sprint(pf.LocalPort) == u.Port() && pf.ResourceName == "ingress-nginx-controller" {
			site = true
		}
		if pf.Namespace == dev.namespaces[0].Name {
			s := dev.service(pf.ResourceName)
			if s == nil {
				t.Errorf("portForward to Service %s, which the dev overlay does not have", pf.ResourceName)
			} else if _, err := servicePort(s, "", pf.Port); err != nil {
				t.Errorf("portForward: %v", err)
			}
		}
	}
	if !site {
		t.Errorf("no portForward of the ingress controller to local port %s (the dev overlay's origin %s)", u.Port(), origin)
	}
}
