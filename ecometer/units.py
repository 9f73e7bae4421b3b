"""SI conversion factors: definitions of units (1 Wh = 3,600 J), not measured constants.

Inside ecometer every figure is SI (J, W, s, L, g CO2e); these convert at the edges only.
"""

from __future__ import annotations

# energy
J_PER_WH = 3600.0  # 1 W x 1 h
J_PER_KWH = 1e3 * J_PER_WH  # 3.6e6 J
J_PER_MWH = 1e6 * J_PER_WH  # 3.6e9 J

# volume (the litre is the water unit inside ecometer)
L_PER_ML = 1e-3  # millilitre (mL)
L_PER_M3 = 1e3
L_PER_MEGALITRE = 1e6  # megalitre (ML)

# mass (the gram CO2e is the carbon unit inside ecometer)
G_PER_MG = 1e-3
G_PER_KG = 1e3
G_PER_T = 1e6

# time
S_PER_MIN = 60.0
S_PER_H = 3600.0
