// The sandbox ("pause") program of the test node's pods; see ../build.sh node.
module hxblab.local/tests/controlplane/pause

go 1.25.0
