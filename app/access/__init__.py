"""Access control: who is asking (principal), what they may see (policy), and the one seam
(DataAccess) through which every read of patient data passes."""
