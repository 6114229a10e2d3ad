# deploy/compose-check/compose-check.mk - `make compose-check`, included by the
# top-level Makefile. Not part of `make test` (it takes minutes and needs root
# for podman).
#
#   make compose-check   bootstrap a Debian bookworm base image (cached), build
#                        every image of deploy/Dockerfile, run the real
#                        docker-compose.yml through podman's Docker API with
#                        Debian's docker-compose, and check it like a user
#                        would (deploy/compose-check/check.sh says what).

.PHONY: compose-check
compose-check:
	$(Q)sh deploy/deps.sh compose-check
	$(Q)sh deploy/compose-check/check.sh
