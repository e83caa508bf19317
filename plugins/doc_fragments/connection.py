# -*- coding: utf-8 -*-
# Copyright: Contributors to the cloudsec.image_scan collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment(object):

    # HTTP options shared by the modules of both clouds.
    DOCUMENTATION = r"""
options:
  validate_certs:
    description:
      - Verify the TLS certificate of the endpoint.
      - Set to V(false) only for a test endpoint you trust.
    type: bool
    default: true
  ca_bundle:
    description:
      - Path of a PEM file of CA certificates used to verify the endpoint, instead of the default ones.
      - When not set and O(validate_certs=true), the environment variable E(REQUESTS_CA_BUNDLE) is honoured.
    type: path
  timeout:
    description:
      - Seconds to wait for a connection and for each answer.
    type: int
    default: 30
  backoff_retries:
    description:
      - How many times a failed call is retried.
      - Throttled calls and calls that never reached the server are retried; server errors, timeouts and lost
        connections are retried only for calls that change nothing (reads).
      - A call that starts or stops a scan and whose answer was lost is never sent again blindly. The module first
        looks at its effect (the tasks and the images' scan states before and after); only a call proven not
        applied is sent again, at most this many times.
    type: int
    default: 5
  backoff_delay:
    description:
      - Base of the exponential backoff in seconds. Before retry N (from 0) the module sleeps a random time
        between 0 and the smaller of O(backoff_max_delay) and O(backoff_delay) * 2^N, or at least the time the
        server asks for in C(Retry-After).
    type: float
    default: 1.0
  backoff_max_delay:
    description:
      - Upper bound in seconds of one backoff sleep (a longer C(Retry-After) is still honoured).
    type: float
    default: 30.0
  return_raw:
    description:
      - Whether the result carries RV(ignore:raw), the cloud's answers as they came.
      - V(false) leaves it out; the normalised return values are the same. On a large fleet the answers are
        about as large as everything else in the result, and Ansible keeps a registered result in memory for
        the rest of the play; the role sets V(false).
    type: bool
    default: true
requirements:
  - requests >= 2.25.0
notes:
  - Proxies are taken from the environment variables E(HTTPS_PROXY), E(HTTP_PROXY) and E(NO_PROXY).
  - The modules talk to the cloud API from the machine they run on; run them on the controller
    (C(delegate_to) V(localhost)) and C(run_once) when a call covers every host.
"""
